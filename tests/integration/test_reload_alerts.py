"""Reload alerts end to end: the simulator fails a reload → UDP → sensebutler → aiosmtpd and disk."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from sensebutler.config import Config
from sensebutler.processors.reload_alerts import ReloadAlertEnricher
from sensebutler.runtime import Runtime
from sensebutler.simulator import Simulator
from sensebutler.simulator.monitoring_config import monitoring_config
from sensebutler.simulator.scenario import load_scenario
from sensebutler.sinks.email.sink import EmailSink
from sensebutler.sinks.script_log_files.sink import ScriptLogFilesSink
from tests.fixtures.net import async_wait_until, free_udp_port
from tests.fixtures.servers import SmtpServer
from tests.fixtures.service import running

COMPAT_EMAIL = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "compat" / "butler" / "templates" / "email"
)
TASK = "Reload of Sales dashboard"  # owner anna; task CPs: enable Yes, send to bi-team@lab.example.com
OPS = "ops-team@example.com"


def alert_config(sim: Simulator, port: int, smtp: SmtpServer, state: Path, **email: Any) -> dict[str, Any]:
    data = monitoring_config(sim.info, state_dir=state, udp_ports=(free_udp_port(), free_udp_port(), port))
    data["polling"] = {}
    data["self_metrics"] = {"enable": False}
    data["udp"] = {
        "metrics": {"enable": False},
        "task_events": {"enable": True, "host": "127.0.0.1", "port": port},
    }
    data["delivery"] = {"retry": {"initial_s": 0.1, "max_s": 0.5, "attempts_before_spool": 2}}
    data["alerts"] = {
        "enable": True,
        "qlik_urls": {
            "qmc": "https://qlik.lab.example.com/qmc",
            "hub": "https://qlik.lab.example.com/hub",
            "app_base": "https://qlik.lab.example.com/sense/app",
        },
        "time_zone": "Europe/Stockholm",
        "script_log": {"attempts": 2, "retry_delay_s": 0.1, "download_wait_s": 3},
    }
    block = {
        "recipients": [OPS],
        "enable_by_custom_property": {
            "enable": True,
            "name": "Butler_FailedAlertEnableEmail",
            "value": "Yes",
        },
        "app_owner": {"enable": True},
        "rate_limit_s": 0,
        **email,
    }
    data["email"] = {
        "enable": True,
        "from_address": "sensebutler@example.com",
        "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"},
        "reload_failed": block,
    }
    data["script_log_files"] = {"enable": True, "directory": str(state / "script_logs")}
    return data


@pytest.fixture
async def site(simulator_factory: Any) -> tuple[Simulator, int]:
    port = free_udp_port()
    sim = await simulator_factory(udp_task_target=f"127.0.0.1:{port}")
    return sim, port


def parts(runtime: Runtime) -> tuple[ReloadAlertEnricher, EmailSink]:
    enricher = next(p for p in runtime.router.processors if isinstance(p, ReloadAlertEnricher))
    sink = next(s for s in runtime.router.sinks if isinstance(s, EmailSink))
    return enricher, sink


async def fail(sim: Simulator, task: str = TASK) -> str:
    session = await sim.trigger_reload(task, outcome="failed", duration=0.1)
    await sim.wait_for_task(session.id)
    return session.id


def by_recipient(smtp: SmtpServer) -> dict[str, Any]:
    return {mail.rcpt_tos[0]: mail for mail in smtp.messages}


async def test_a_failed_reload_mails_each_recipient_from_a_compat_template_and_keeps_the_log(
    site: tuple[Simulator, int], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    if not COMPAT_EMAIL.is_dir():
        pytest.skip(f"Butler's e-mail templates are not at {COMPAT_EMAIL} (shared/compat is absent)")
    sim, port = site
    template = str(COMPAT_EMAIL / "failed-reload-qseow.handlebars")
    config = Config.model_validate(
        alert_config(sim, port, smtp_server, tmp_path / "state", template=template)
    )
    async with running(config) as runtime:
        await fail(sim)
        mails = await smtp_server.wait_for(3, timeout=30)
        files = next(s for s in runtime.router.sinks if isinstance(s, ScriptLogFilesSink))
        await async_wait_until(lambda: files.counts["written"] == 1, 10, "the script log file")
    assert len(smtp_server.messages) == 3  # the service has stopped: a fourth mail would be here
    assert sorted(m.rcpt_tos[0] for m in mails) == ["anna@lab.example.com", "bi-team@lab.example.com", OPS]
    mail = mails[0].message
    assert mail["Subject"] == f'Qlik Sense reload failed: "{TASK}"'
    body = mail.get_content()
    task = sim.model.task(TASK)
    result = task.last_result
    assert result is not None
    last_line = result.script_log.rstrip("\r\n").split("\r\n")[-1]
    assert "Qlik Sense reload task failed" in body  # Butler's template text
    assert task.id in body and "Anna Lindqvist" in body and last_line in body
    assert "Changing task state from Started to FinishedFail" in body
    assert f"https://qlik.lab.example.com/sense/app/{task.app.id}" in body if task.app else False
    # the script log on disk, at Butler's path
    (day,) = (tmp_path / "state" / "script_logs").iterdir()
    (log_file,) = day.iterdir()
    assert log_file.name.endswith(f"_appId={task.app.id}_taskId={task.id}.log") if task.app else False
    assert log_file.read_text(encoding="utf-8") == result.script_log.replace("\r\n", "\n").rstrip("\n")


async def test_owner_excluded_or_without_address_leaves_the_others_mailed(
    simulator_factory: Any, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    scenario = load_scenario(None)
    scenario = scenario.model_copy(
        update={"users": scenario.users.model_copy(update={"owners_without_email": 1})}
    )
    port = free_udp_port()
    sim = await simulator_factory(udp_task_target=f"127.0.0.1:{port}", scenario=scenario)
    config = Config.model_validate(alert_config(sim, port, smtp_server, tmp_path / "a"))
    async with running(config) as runtime:
        await fail(sim)  # anna has no e-mail address in this site
        await smtp_server.wait_for(2, timeout=30)
        _, sink = parts(runtime)
        await async_wait_until(lambda: sink.stats().delivered == 2, 10, "two mails delivered")
    assert sorted(by_recipient(smtp_server)) == ["bi-team@lab.example.com", OPS]

    # the owner excluded by name (on a site where anna has an address)
    smtp_server.messages.clear()
    port = free_udp_port()
    sim = await simulator_factory(udp_task_target=f"127.0.0.1:{port}")
    excluded = {"app_owner": {"enable": True, "exclude": [{"directory": "LAB", "user_id": "anna"}]}}
    config = Config.model_validate(alert_config(sim, port, smtp_server, tmp_path / "b", **excluded))
    async with running(config) as runtime:
        await fail(sim)
        await smtp_server.wait_for(2, timeout=30)
        _, sink = parts(runtime)
        await async_wait_until(lambda: sink.stats().delivered == 2, 10, "two mails delivered")
    assert sorted(by_recipient(smtp_server)) == ["bi-team@lab.example.com", OPS]


async def test_mails_wait_while_smtp_is_down_and_arrive_once(
    site: tuple[Simulator, int], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    sim, port = site
    config = Config.model_validate(
        alert_config(sim, port, smtp_server, tmp_path / "state", app_owner={"enable": False})
    )
    tasks = [TASK, "Reload of Finance KPIs", "Reload of Customer 360"]
    async with running(config) as runtime:
        _, sink = parts(runtime)
        smtp_server.stop()
        for name in tasks:
            await fail(sim, name)
        stats = sink.stats()
        # each task: ops + its own Butler_FailedAlertSendToEmail values (Finance KPIs has two)
        await async_wait_until(lambda: stats.spool_records == 6, 30, "six mails waiting in the spool")
        assert smtp_server.messages == []
        smtp_server.start()
        await smtp_server.wait_for(6, timeout=30)
        await async_wait_until(
            lambda: stats.spool_records == 0 and stats.delivered == 6, 30, "spool replayed"
        )
    got = sorted((m.rcpt_tos[0], m.message["Subject"]) for m in smtp_server.messages)
    assert len(got) == len(set(got)) == 6, got


async def test_a_repeated_datagram_is_deduped_and_a_burst_is_rate_limited_across_a_restart(
    site: tuple[Simulator, int], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    sim, port = site
    task = sim.model.task(TASK)
    assert task.app is not None
    limited = {
        "rate_limit_s": 3600,
        "recipients": [OPS],
        "app_owner": {"enable": False},
        "recipients_custom_property": "",
    }
    config = Config.model_validate(alert_config(sim, port, smtp_server, tmp_path / "state", **limited))

    def datagram(execution: str) -> bytes:
        return (
            f"/scheduler-task-failed/;qlikserver1;{TASK};{task.app.name};LAB\\goran;{task.id};{task.app.id};"  # type: ignore[union-attr]
            f"2024-01-05 11:22:11,123;ERROR;{execution};Max retries reached (0). Task {TASK} failed."
        ).encode()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        async with running(config) as runtime:
            enricher, sink = parts(runtime)
            first = "4831c6a5-34f6-45bb-9d40-73a6e6992670"
            sock.sendto(datagram(first), ("127.0.0.1", port))
            sock.sendto(datagram(first), ("127.0.0.1", port))
            await async_wait_until(
                lambda: enricher.stats.dropped["duplicate"] == 1, 20, "the duplicate dropped"
            )
            await smtp_server.wait_for(1, timeout=30)
            for n in range(3):  # a burst: other executions of the same task within the hour
                sock.sendto(datagram(f"5831c6a5-34f6-45bb-9d40-73a6e699267{n}"), ("127.0.0.1", port))
            await async_wait_until(
                lambda: sink.stats().dropped["rate_limited"] == 3, 30, "three alerts limited"
            )
        async with running(config) as runtime:  # restarted on the same state
            enricher, sink = parts(runtime)
            sock.sendto(datagram("6831c6a5-34f6-45bb-9d40-73a6e6992670"), ("127.0.0.1", port))
            sock.sendto(datagram(first), ("127.0.0.1", port))  # still a duplicate after the restart
            await async_wait_until(
                lambda: sink.stats().dropped["rate_limited"] == 1, 30, "limited after restart"
            )
            await async_wait_until(
                lambda: enricher.stats.dropped["duplicate"] == 1, 20, "duplicate after restart"
            )
    assert len(smtp_server.messages) == 1


async def test_a_script_log_qrs_cannot_serve_still_gives_an_alert_marked_unavailable(
    site: tuple[Simulator, int], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    sim, port = site
    await sim.set_failing("Central", "qrs", 500, path="/qrs/download/reloadtask")
    config = Config.model_validate(
        alert_config(sim, port, smtp_server, tmp_path / "state", app_owner={"enable": False})
    )
    async with running(config) as runtime:
        await fail(sim)
        mails = await smtp_server.wait_for(2, timeout=30)
        enricher, _ = parts(runtime)
        files = next(s for s in runtime.router.sinks if isinstance(s, ScriptLogFilesSink))
        await async_wait_until(lambda: files.counts["no_script_log"] == 1, 10, "no script log file")
    body = mails[0].message.get_content()
    assert "Script log unavailable" in body and "script log unavailable" in body
    assert enricher.counts["incomplete"] == 1
    assert not (tmp_path / "state" / "script_logs").exists()
