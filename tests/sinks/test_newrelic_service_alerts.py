"""Service monitor events and logs to New Relic, against a real local HTTP receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from sensebutler.config import Config
from sensebutler.events.monitors import ServiceStateChanged
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver
from tests.sinks.alert_channels import SERVICE_HOST, service_change
from tests.sinks.test_newrelic import alerts_section, by_key, make_sink, started_sink, stop_all

T0_NS = 1_767_225_600_000_000_000


def service_config(url: str, **service_alerts: Any) -> Config:
    return Config.model_validate({"new_relic": alerts_section(url, "service_alerts", service_alerts)})


def at_t0(change: ServiceStateChanged) -> ServiceStateChanged:
    return msgspec.structs.replace(change, time_ns=T0_NS)


async def test_stopped_and_started_events_and_logs_with_their_own_limits(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    http_receiver.respond("/log/v1", 202)
    config = service_config(
        http_receiver.url,
        service_stopped={
            "event": {"accounts": ["prod", "ops"], "attributes": {"kind": "event"}},
            "log": {"accounts": ["ops"]},
            "attributes": {"team": "qlik"},
            "rate_limit_s": 3600,
        },
        service_started={"event": {"accounts": ["prod"]}, "rate_limit_s": 3600},
    )
    sink, runtime = await started_sink(config, tmp_path)
    assert ServiceStateChanged.kind in sink.kinds
    sink.submit(at_t0(service_change("STOPPED", "RUNNING")))
    stats = sink.stats()
    await async_wait_until(lambda: stats.delivered == 3, 30, f"the stop's items ({stats})")
    sink.submit(at_t0(service_change("RUNNING", "STOPPED")))  # its own limit: sent
    await async_wait_until(lambda: stats.delivered == 4, 30, f"the start's item ({stats})")
    sink.submit(at_t0(service_change("STOPPED", "RUNNING")))  # within the hour: limited
    await async_wait_until(lambda: stats.dropped["rate_limited"] == 3, 30, f"limited ({stats})")
    await stop_all(sink, runtime)
    assert stats.delivered == 4

    items = {
        where: [item for body in bodies for item in body]
        for where, bodies in by_key(http_receiver.requests).items()
    }
    prod_events = items[("/v1/accounts/111/events", "NRAK-PROD-KEY")]
    assert [e["butler_serviceStatus"] for e in prod_events] == ["STOPPED", "RUNNING"]
    stopped = prod_events[0]
    assert stopped == {
        "eventType": "qs_serviceStateEvent",
        "timestamp": T0_NS // 1_000_000,
        "qs_env": "dev",
        "team": "qlik",
        "kind": "event",
        "version": stopped["version"],
        "butler_serviceHost": SERVICE_HOST,
        "butler_serviceName": "QlikSenseProxyService",
        "butler_serviceDisplayName": "Qlik Sense Proxy Service",
        "butler_serviceStatus": "STOPPED",
    }
    assert len(items[("/v1/accounts/222/events", "NRAK-OPS-KEY")]) == 1
    (log,) = items[("/log/v1", "NRAK-OPS-KEY")]
    assert log["common"]["attributes"]["logtype"] == "qs_serviceStateLog"
    assert log["common"]["attributes"]["butler_serviceHost"] == SERVICE_HOST
    assert "kind" not in log["common"]["attributes"]
    assert log["logs"] == [
        {
            "timestamp": T0_NS // 1_000_000,
            "message": f'Windows service "Qlik Sense Proxy Service" on host "{SERVICE_HOST}" is STOPPED.',
        }
    ]


def test_service_alerts_are_off_until_configured_and_need_known_accounts(tmp_path: Path) -> None:
    sink = make_sink(service_config("http://127.0.0.1:9", service_stopped={}), tmp_path)
    assert ServiceStateChanged.kind not in sink.kinds
    with pytest.raises(ValidationError, match=r"service_alerts.service_stopped.event.accounts: 'nobody'"):
        service_config("http://x", service_stopped={"event": {"accounts": ["nobody"]}})
    with pytest.raises(ValidationError, match=r"service_alerts.service_started.log.accounts: none"):
        service_config("http://x", service_started={"log": {}})
