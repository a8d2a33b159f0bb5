"""SMTP: one session per batch of mails, TLS (implicit or STARTTLS) and AUTH as configured.

Each record is one mail to one recipient (JSON: ``from``, ``to``, ``subject``, ``html``,
``priority``). What is retried (and spooled while the server is down): connection failures,
timeouts, TLS and AUTH failures (a configuration problem that a fix and restart should not lose
alerts to) and 4xx answers. A mail the server refuses for good (5xx for its sender, recipient or
content) is dropped and counted (``rejected``), and the batch goes on. Mails already accepted in a
batch that is then retried are not sent again (their records are remembered for a while).
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import uuid
from collections import OrderedDict
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib
import orjson

from sensebutler.logs import RateLimitedLog
from sensebutler.pipeline.delivery import DeliveryError
from sensebutler.sinks.email.config import SmtpSettings
from sensebutler.tls import client_context

log = logging.getLogger(__name__)

PRIORITY_HEADERS = {
    "high": ("1 (Highest)", "High"),
    "normal": ("3 (Normal)", "Normal"),
    "low": ("5 (Lowest)", "Low"),
}
#: records remembered as sent, so a retried batch does not mail anyone twice
REMEMBER_SENT = 10_000


def mail_record(*, sender: str, to: str, subject: str, html: str, priority: str, key: str) -> bytes:
    """One delivery record; ``key`` makes it unique (alert and recipient) for the sent-memory."""
    return orjson.dumps(
        {"from": sender, "to": to, "subject": subject, "html": html, "priority": priority, "key": key}
    )


def build_message(record: dict[str, Any], domain: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = record["from"]
    message["To"] = record["to"]
    message["Subject"] = record["subject"]
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
    x_priority, importance = PRIORITY_HEADERS.get(
        record.get("priority", "normal"), PRIORITY_HEADERS["normal"]
    )
    message["X-Priority"] = x_priority
    message["Importance"] = importance
    message.set_content(record["html"], subtype="html")
    return message


class EmailDestination:
    name = "email"
    max_in_flight = 1

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp
        self._tls: ssl.SSLContext | None = None
        if smtp.security != "none":
            self._tls = client_context(
                "email.smtp", ca=smtp.ca, verify=smtp.verify, check_hostname=smtp.verify
            )
        self._sent: OrderedDict[bytes, None] = OrderedDict()
        #: mails the server refused for good
        self.rejected = 0
        self._log = RateLimitedLog(log, 60.0)

    async def open(self) -> None:
        """Connections are made per batch (alerts are rare; an idle SMTP connection times out)."""

    async def close(self) -> None:
        return None

    def _client(self) -> aiosmtplib.SMTP:
        smtp = self.smtp
        return aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            timeout=smtp.timeout_s,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            tls_context=self._tls,
            validate_certs=smtp.verify,
            username=smtp.username or None,
            password=smtp.password.get_secret_value()
            if smtp.password is not None and smtp.username
            else None,
        )

    async def send(self, batch: list[bytes]) -> None:
        pending = [(hashlib.sha256(record).digest(), record) for record in batch]
        pending = [(digest, record) for digest, record in pending if digest not in self._sent]
        if not pending:
            return
        client = self._client()
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"cannot reach SMTP server {self.smtp.host}:{self.smtp.port}: {exc}") from exc
        try:
            for digest, record in pending:
                await self._send_one(client, record)
                self._remember(digest)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def _send_one(self, client: aiosmtplib.SMTP, record: bytes) -> None:
        try:
            data = orjson.loads(record)
            message = build_message(data, self.smtp.host or "sensebutler")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            self.rejected += 1
            self._log.log(logging.ERROR, "bad-record", "email: dropped a mail that cannot be built: %r", exc)
            return
        try:
            await client.send_message(message)
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600 and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                self.rejected += 1
                self._log.log(
                    logging.ERROR,
                    "rejected",
                    "email: the SMTP server refused the mail to %s for good: %s %s",
                    data.get("to"),
                    exc.code,
                    exc.message,
                )
                return
            raise DeliveryError(f"SMTP server answered {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            self.rejected += 1
            self._log.log(logging.ERROR, "refused", "email: recipient %s refused: %s", data.get("to"), exc)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP send failed: {exc}") from exc

    def _remember(self, digest: bytes) -> None:
        self._sent[digest] = None
        while len(self._sent) > REMEMBER_SENT:
            self._sent.popitem(last=False)
