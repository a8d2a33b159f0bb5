"""Service alerts by e-mail, through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sensebutler.sinks.email.config import EmailSection
from sensebutler.sinks.email.sink import build
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import SmtpServer
from tests.sinks.alert_channels import COMPAT_TEMPLATES, SERVICE_HOST, config, running, service_change

WAIT_S = 30.0


def email_config(smtp: SmtpServer, **blocks: Any) -> Any:
    return config(
        alerts={
            "qlik_urls": {"qmc": "https://qlik.lab.example.com/qmc"},
            "generic_urls": [
                {"id": "butler_docs", "link_text": "Runbook", "url": "https://wiki.example.com/qs"}
            ],
        },
        email={
            "enable": True,
            "from_address": "sensebutler@example.com",
            "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"},
            **blocks,
        },
    )


def test_service_blocks_have_butlers_defaults() -> None:
    section = EmailSection.model_validate({"service_stopped": {"recipients": ["ops@example.com"]}})
    assert section.service_stopped.enable and not section.service_started.enable
    assert (section.service_stopped.rate_limit_s, section.service_stopped.priority) == (300.0, "high")
    assert section.service_stopped.recipients_custom_property == ""


async def test_stopped_and_started_mails_per_recipient(smtp_server: SmtpServer, tmp_path: Path) -> None:
    recipients = ["ops@example.com", "OPS@example.com", "not an address", "dba@example.com"]
    made = email_config(
        smtp_server,
        service_stopped={"recipients": recipients},
        service_started={"recipients": ["ops@example.com"], "priority": "low"},
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(service_change("STOPPED", "RUNNING"))
        await smtp_server.wait_for(2, WAIT_S)
        sink.submit(service_change("RUNNING", "STOPPED"))  # not held back by the stop's limit
        await smtp_server.wait_for(3, WAIT_S)
        sink.submit(service_change("STOPPED", "RUNNING"))  # within five minutes: limited per recipient
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 2, WAIT_S, "two limited")
        await async_wait_until(lambda: sink.stats().delivered == 3, WAIT_S, "three delivered")

    stopped = [m for m in smtp_server.messages if "stopped" in m.message["Subject"]]
    assert sorted(m.rcpt_tos[0] for m in stopped) == ["dba@example.com", "ops@example.com"]
    mail = stopped[0].message
    assert mail["Subject"] == f'❌ Service stopped on host {SERVICE_HOST}: "Qlik Sense Proxy Service"'
    assert mail["From"] == "sensebutler@example.com"
    assert mail["Importance"] == "High"  # Butler's default priority for service mails
    body = mail.get_body(("html",))
    assert body is not None
    html = body.get_content()
    assert "Service stopped: Qlik Sense Proxy Service" in html
    assert "STOPPED (was RUNNING)" in html and SERVICE_HOST in html
    assert '<a href="https://wiki.example.com/qs">Runbook</a>' in html
    (started,) = [m for m in smtp_server.messages if "started" in m.message["Subject"]]
    assert started.rcpt_tos == ["ops@example.com"]
    assert started.message["Importance"] == "Low"
    assert "RUNNING (was STOPPED)" in started.message.get_body(("html",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("event", ["stopped", "started"])
async def test_butlers_service_templates_render(smtp_server: SmtpServer, tmp_path: Path, event: str) -> None:
    template = COMPAT_TEMPLATES / "email" / f"service-{event}.handlebars"
    if not template.is_file():
        pytest.skip(f"Butler's e-mail templates are not at {template.parent} (shared/compat is absent)")
    made = email_config(
        smtp_server,
        **{
            f"service_{event}": {
                "recipients": ["ops@example.com"],
                "template": str(template),
                # Butler's default subject for the event (butler.md §8.1)
                "subject": f'Windows service {event} on host {{{{host}}}}: "{{{{serviceDisplayName}}}}"',
            }
        },
    )
    change = (
        service_change("STOPPED", "RUNNING") if event == "stopped" else service_change("RUNNING", "STOPPED")
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(change)
        (mail,) = await smtp_server.wait_for(1, WAIT_S)
        assert sink.templates.render_failures == 0
    assert (
        mail.message["Subject"]
        == f'Windows service {event} on host {SERVICE_HOST}: "Qlik Sense Proxy Service"'
    )
    html = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Qlik Sense Proxy Service" in html and SERVICE_HOST in html
    assert change.current.state in html
