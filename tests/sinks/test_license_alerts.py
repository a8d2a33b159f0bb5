"""The server licence alert by e-mail (aiosmtpd), to Slack, Teams and New Relic (real HTTP receiver)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from sensebutler.config import Config
from sensebutler.events.monitors import ServerLicenseAlert
from sensebutler.sinks.email.config import EmailSection
from sensebutler.sinks.email.sink import build as build_email
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver, SmtpServer
from tests.sinks.alert_channels import config, license_alert, running
from tests.sinks.chat.test_service_alerts import BUILDERS, chat_config, strings
from tests.sinks.test_newrelic import alerts_section, by_key, make_sink, started_sink, stop_all

WAIT_S = 30.0
T0_NS = 1_767_225_600_000_000_000


def email_config(smtp: SmtpServer, **blocks: Any) -> Config:
    return config(
        email={
            "enable": True,
            "from_address": "sensebutler@example.com",
            "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"},
            **blocks,
        },
    )


def test_email_block_is_off_until_written_and_high_priority() -> None:
    assert not EmailSection().server_license_alert.enable
    section = EmailSection.model_validate({"server_license_alert": {"recipients": ["ops@example.com"]}})
    block = section.server_license_alert
    assert block.enable and (block.rate_limit_s, block.priority) == (300.0, "high")


async def test_email_expiring_and_expired_per_recipient_limited_apart(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    recipients = ["ops@example.com", "dba@example.com"]
    made = email_config(smtp_server, server_license_alert={"recipients": recipients, "rate_limit_s": 3600})
    async with running(made, tmp_path, build_email) as sink:
        assert ServerLicenseAlert.kind in sink.kinds
        sink.submit(license_alert(10))
        await smtp_server.wait_for(2, WAIT_S)
        sink.submit(license_alert(9))  # the next check: limited for both recipients
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 2, WAIT_S, "two limited")
        sink.submit(license_alert(-5, expiry="2026-11-28"))  # expired: its own limit
        await smtp_server.wait_for(4, WAIT_S)
        await async_wait_until(lambda: sink.stats().delivered == 4, WAIT_S, "four delivered")

    subjects = [m.message["Subject"] for m in smtp_server.messages]
    assert subjects[:2] == ["⚠️ Qlik Sense server licence expires in 10 days, on 2026-12-13"] * 2
    assert subjects[2:] == ["❌ Qlik Sense server licence expired on 2026-11-28"] * 2
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages[2:]) == ["dba@example.com", "ops@example.com"]
    expired = smtp_server.messages[2].message
    assert expired["X-Priority"].startswith("1")
    html = expired.get_body(("html",)).get_content()
    assert "has expired" in html and "<td>-5</td>" in html and "<td>30 days</td>" in html


@pytest.mark.parametrize("chat", ["slack", "teams"])
async def test_chat_formatted_messages_carry_the_signed_days(
    http_receiver: HttpReceiver, tmp_path: Path, chat: str
) -> None:
    made = chat_config(chat, http_receiver, server_license_alert={"rate_limit_s": 3600})
    async with running(made, tmp_path, BUILDERS[chat]) as sink:
        assert ServerLicenseAlert.kind in sink.kinds
        sink.submit(license_alert(10))
        await http_receiver.wait_for(1, timeout=WAIT_S)
        sink.submit(license_alert(10))  # limited
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 1, WAIT_S, "one limited")
        sink.submit(license_alert(-5, expiry="2026-11-28"))  # expired: its own limit
        await http_receiver.wait_for(2, timeout=WAIT_S)
        await async_wait_until(lambda: sink.stats().delivered == 2, WAIT_S, "two delivered")
        assert sink.templates.fallbacks == 0

    expiring, expired = (" ".join(strings(r.json())) for r in http_receiver.requests)
    assert "expires soon" in expiring and "2026-12-13" in expiring and "10" in expiring
    assert "expired" in expired and "-5" in expired and "2026-11-28" in expired
    assert "https://q/qmc" in expired  # the QMC button / action


@pytest.mark.parametrize("chat", ["slack", "teams"])
async def test_chat_basic_message_is_the_alert_sentence(
    http_receiver: HttpReceiver, tmp_path: Path, chat: str
) -> None:
    made = chat_config(chat, http_receiver, server_license_alert={"message_type": "basic"})
    async with running(made, tmp_path, BUILDERS[chat]) as sink:
        sink.submit(license_alert(-3, expiry="2026-11-30"))
        (request,) = await http_receiver.wait_for(1, timeout=WAIT_S)
    assert "Qlik Sense server license expired on 2026-11-30" in strings(request.json())


async def test_chat_is_off_until_the_block_is_written(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = chat_config("slack", http_receiver)
    async with running(made, tmp_path, BUILDERS["slack"]) as sink:
        sink.submit(license_alert(-5))
    assert http_receiver.requests == []
    assert sink.stats().received == 0


def newrelic_config(url: str, **license_alerts: Any) -> Config:
    return Config.model_validate({"new_relic": alerts_section(url, "license_alerts", license_alerts)})


def at_t0(alert: ServerLicenseAlert) -> ServerLicenseAlert:
    return msgspec.structs.replace(alert, time_ns=T0_NS)


async def test_newrelic_event_and_log_limited_per_alert_kind(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    http_receiver.respond("/log/v1", 202)
    made = newrelic_config(
        http_receiver.url,
        server_license_alert={"event": {"accounts": ["prod"]}, "log": {"accounts": ["ops"]}},
    )
    sink, runtime = await started_sink(made, tmp_path)
    assert ServerLicenseAlert.kind in sink.kinds
    stats = sink.stats()
    sink.submit(at_t0(license_alert(10)))
    await async_wait_until(lambda: stats.delivered == 2, 30, f"event and log ({stats})")
    sink.submit(at_t0(license_alert(9)))  # within five minutes: limited, event and log
    await async_wait_until(lambda: stats.dropped["rate_limited"] == 2, 30, f"limited ({stats})")
    sink.submit(at_t0(license_alert(-5, expiry="2026-11-28")))  # expired: its own limit
    await async_wait_until(lambda: stats.delivered == 4, 30, f"the expired items ({stats})")
    await stop_all(sink, runtime)

    items = {
        where: [i for body in bodies for i in body]
        for where, bodies in by_key(http_receiver.requests).items()
    }
    events = items[("/v1/accounts/111/events", "NRAK-PROD-KEY")]
    assert events[1] == {
        "eventType": "qs_serverLicenseEvent",
        "timestamp": T0_NS // 1_000_000,
        "qs_env": "dev",
        "version": events[1]["version"],
        "butler_licenseAlert": "expired",
        "butler_licenseExpired": True,
        "butler_licenseExpiryDate": "2026-11-28",
        "butler_licenseDaysUntilExpiry": -5,
        "butler_licenseThresholdDays": 30,
    }
    assert events[0]["butler_licenseDaysUntilExpiry"] == 10
    logs = items[("/log/v1", "NRAK-OPS-KEY")]
    assert [log["common"]["attributes"]["logtype"] for log in logs] == ["qs_serverLicenseLog"] * 2
    assert logs[1]["logs"] == [
        {"timestamp": T0_NS // 1_000_000, "message": "Qlik Sense server license expired on 2026-11-28"}
    ]


def test_newrelic_is_off_until_configured_and_needs_known_accounts(tmp_path: Path) -> None:
    sink = make_sink(newrelic_config("http://127.0.0.1:9", server_license_alert={}), tmp_path)
    assert ServerLicenseAlert.kind not in sink.kinds
    with pytest.raises(
        ValidationError, match=r"license_alerts.server_license_alert.event.accounts: 'nobody'"
    ):
        newrelic_config("http://x", server_license_alert={"event": {"accounts": ["nobody"]}})
