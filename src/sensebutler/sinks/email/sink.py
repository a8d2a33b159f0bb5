"""The e-mail alert sink: recipients, subject and body templates, per-recipient rate limits.

Service alerts (``service_stopped`` / ``service_started``) go to the block's ``recipients``, rate
limited per host, service and recipient (Butler's ``host|service|address``), stopped and started apart.

One record per recipient, so the shared delivery retries and spools each mail on its own and a
restart keeps what is waiting. The rate limit is per task and recipient (Butler's key
``<taskId>|<address>``) and per event. At start, the custom properties that gate alerts
(``enable_by_custom_property``) must exist in QRS, or startup stops naming them (as Butler does);
when QRS cannot be reached then, the check is skipped with a warning.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from typing import Any

from sensebutler.alerts.config import AlertEventBlock
from sensebutler.alerts.context import license_context, service_context, service_message, template_context
from sensebutler.alerts.sink import AlertSink
from sensebutler.alerts.templates import TemplateError, TemplateSet, default_template
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicenseAlert, ServiceStateChanged
from sensebutler.logs import RateLimitedLog
from sensebutler.qlik.errors import QlikError
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import Sink
from sensebutler.sinks.email.config import EmailEventBlock, EmailSection
from sensebutler.sinks.email.destination import EmailDestination, mail_record
from sensebutler.sinks.email.recipients import recipients_for, recipients_for_service

log = logging.getLogger(__name__)


class EmailSink(AlertSink):
    alert_kinds = (ReloadAlert.kind, ServiceStateChanged.kind, ServerLicenseAlert.kind)

    def __init__(self, runtime: Runtime, section: EmailSection) -> None:
        super().__init__("email", section, EmailDestination(section.smtp), runtime)
        self.email = section
        self.runtime = runtime
        self.templates = TemplateSet()
        self._warn = RateLimitedLog(log, 60.0)
        for event in section.enabled_events():
            self._compile(event, section.email_block(event))

    def _compile(self, event: str, block: EmailEventBlock) -> None:
        body = block.template or default_template("email", event)
        if body is None:
            raise StartupError(f"email.{event.replace('-', '_')}: sensebutler has no template; set template:")
        self.templates.compile_file(body, f"{event}:body")
        if block.subject:
            self.templates.compile_text(f"{event}:subject", block.subject, source=f"email.{event}.subject")
        else:
            subject = default_template("email", event, ".subject")
            assert subject is not None
            self.templates.compile_file(subject, f"{event}:subject")

    async def service_records(
        self, change: ServiceStateChanged, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        assert isinstance(block, EmailEventBlock)
        context = service_context(change, self.options)
        service = change.current
        key = f"{service.host}|{service.service_name}"
        return await self._monitor_mails(event, block, context, key, change.time_ns)

    async def _monitor_mails(
        self, event: str, block: EmailEventBlock, context: dict[str, Any], key: str, time_ns: int
    ) -> list[bytes]:
        """One mail per recipient of a monitor alert, rate-limited per ``key|address``."""
        found = recipients_for_service(block)
        if found.invalid:
            self._warn.log(
                logging.WARNING, "invalid", "email: skipped values that are not addresses: %s", found.invalid
            )
        addresses = found.all()
        if not addresses:
            return []
        body = self.templates.render(f"{event}:body", context, fallback=_service_fallback)
        subject = " ".join(
            html.unescape(
                self.templates.render(f"{event}:subject", context, fallback=_subject_fallback)
            ).split()
        )
        sender = block.from_address or self.email.from_address
        made = []
        for address in addresses:
            limit_key = f"{key}|{address.casefold()}"
            if not await self.allow(event, limit_key, block):
                continue
            made.append(
                mail_record(
                    sender=sender,
                    to=address,
                    subject=subject,
                    html=body,
                    priority=block.priority,
                    key=f"{event}|{limit_key}|{time_ns}",
                )
            )
        return made

    async def license_records(
        self, alert: ServerLicenseAlert, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        """To the block's recipients, rate-limited per alert kind and recipient."""
        assert isinstance(block, EmailEventBlock)
        context = license_context(alert, self.options)
        return await self._monitor_mails(event, block, context, f"license-{alert.alert}", alert.time_ns)

    async def start(self) -> None:
        await self._check_custom_properties()
        await super().start()

    async def _check_custom_properties(self) -> None:
        wanted = {
            block.enable_by_custom_property.name: event
            for event in self.email.enabled_events()
            if (block := self.email.email_block(event)).enable_by_custom_property.enable
        }
        if not wanted:
            return
        qrs = self.runtime.qlik.qrs
        for name, event in wanted.items():
            try:
                found = await qrs.get_json(
                    "custompropertydefinition/full", {"filter": f"name eq '{_quote(name)}'"}
                )
            except QlikError as exc:
                log.warning(
                    "email: cannot check custom property %r in QRS (%s); checked at next start", name, exc
                )
                return
            if not found:
                raise StartupError(
                    f"email.{event.replace('-', '_')}.enable_by_custom_property: the custom property "
                    f"{name!r} does not exist in Qlik Sense "
                    "(create it for reload tasks in the QMC, or change the name)"
                )

    async def records(self, alert: ReloadAlert, event: str, block: AlertEventBlock) -> Iterable[bytes]:
        assert isinstance(block, EmailEventBlock)
        found = recipients_for(alert, block)
        if found.invalid:
            self._warn.log(
                logging.WARNING, "invalid", "email: skipped values that are not addresses: %s", found.invalid
            )
        if found.owner_without_email:
            owner = alert.owner
            self._warn.log(
                logging.WARNING,
                "owner-no-email",
                "email: app owner %s\\%s has no e-mail address; mailing the other recipients",
                owner.user_directory if owner else "",
                owner.user_id if owner else "",
            )
        addresses = found.all()
        if not addresses:
            return []
        context: dict[str, Any] = template_context(
            alert, self.options, head_lines=block.head_lines, tail_lines=block.tail_lines
        )
        context["emailRecipients"] = {"common": found.common, "taskSpecific": found.task_specific}
        context["subjectFallback"] = f"Qlik Sense {event.replace('-', ' ')}: {alert.source.task_name}"
        body = self.templates.render(f"{event}:body", context)
        subject = " ".join(
            html.unescape(
                self.templates.render(f"{event}:subject", context, fallback=_subject_fallback)
            ).split()
        )
        sender = block.from_address or self.email.from_address
        made = []
        for address in addresses:
            if not await self.allow(event, f"{alert.source.task_id}|{address.casefold()}", block):
                continue
            made.append(
                mail_record(
                    sender=sender,
                    to=address,
                    subject=subject,
                    html=body,
                    priority=block.priority,
                    key=f"{event}|{alert.source.execution_id}|{alert.time_ns}|{address.casefold()}",
                )
            )
        return made


def _service_fallback(context: Any) -> str:
    return html.escape(service_message(context)).replace("\n", "<br>\n")


def _subject_fallback(context: Any) -> str:
    return str(context.get("subjectFallback") or "Qlik Sense task alert")


def _quote(value: str) -> str:
    return value.replace("'", "''")


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.email
    if not section.enable:
        return []
    try:
        return [EmailSink(runtime, section)]
    except TemplateError as exc:
        raise StartupError(str(exc)) from exc
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
