"""Service and server licence alerts through outgoing webhooks, against a real local HTTP receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicense, ServerLicenseAlert, ServiceStateChanged
from sensebutler.sinks.webhook.sink import build
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver
from tests.sinks.alert_channels import SERVICE_HOST, alert, config, license_alert, running, service_change

WAIT_S = 30.0


def hooks(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [
        {"url": f"{receiver.url}/get?token=abc", "method": "GET"},
        {"url": f"{receiver.url}/post", "method": "POST"},
    ]


async def test_a_stopped_service_has_butlers_body_and_lower_case_get_parameters(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    made = config(webhook={"enable": True, "webhooks": hooks(http_receiver), "service_stopped": {}})
    async with running(made, tmp_path, build) as sink:
        assert {ServiceStateChanged.kind, ServerLicenseAlert.kind, ReloadAlert.kind} <= sink.kinds
        sink.submit(service_change("STOPPED", "RUNNING"))
        requests = await http_receiver.wait_for(2, timeout=WAIT_S)
        await async_wait_until(lambda: sink.stats().delivered == 2, WAIT_S, "two requests delivered")

    (post,) = [r for r in requests if r.path == "/post"]
    assert post.json() == {
        "event": "Windows service monitor",
        "host": SERVICE_HOST,
        "serviceStatus": "STOPPED",
        "serviceName": "QlikSenseProxyService",
        "serviceDisplayName": "Qlik Sense Proxy Service",
        "serviceStartType": "Automatic",
        "prevState": "RUNNING",
        "currState": "STOPPED",
        "stateChanged": True,
    }
    (get,) = [r for r in requests if r.path == "/get"]
    assert get.query == {
        "token": "abc",
        "event": "Windows service monitor",
        "host": SERVICE_HOST,
        "servicestatus": "STOPPED",
        "servicename": "QlikSenseProxyService",
        "servicedisplayname": "Qlik Sense Proxy Service",
        "servicestarttype": "Automatic",
        "prevstate": "RUNNING",
        "currstate": "STOPPED",
        "statechanged": "true",
    }


async def test_stopped_and_started_are_rate_limited_apart_per_host_and_service(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    target = [{"url": f"{http_receiver.url}/hook"}]
    made = config(
        webhook={
            "enable": True,
            "webhooks": target,
            "service_stopped": {"rate_limit_s": 3600},
            "service_started": {"rate_limit_s": 3600},
        }
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(service_change("STOPPED", "RUNNING"))
        await http_receiver.wait_for(1, timeout=WAIT_S)
        # the recovery is not held back by the stop (Butler shares one limiter and drops it)
        sink.submit(service_change("RUNNING", "STOPPED"))
        await http_receiver.wait_for(2, timeout=WAIT_S)
        # a second stop of the same service within the hour is limited; another service's is not
        sink.submit(service_change("STOPPED", "RUNNING"))
        sink.submit(service_change("STOPPED", "RUNNING", service="QlikSenseEngineService"))
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 1, WAIT_S, "one limited")
        await http_receiver.wait_for(3, timeout=WAIT_S)
        await async_wait_until(lambda: sink.stats().delivered == 3, WAIT_S, "three delivered")

    bodies = [r.json() for r in http_receiver.requests]
    assert [(b["serviceName"], b["currState"]) for b in bodies] == [
        ("QlikSenseProxyService", "STOPPED"),
        ("QlikSenseProxyService", "RUNNING"),
        ("QlikSenseEngineService", "STOPPED"),
    ]


async def test_service_events_are_off_until_their_block_is_written(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    made = config(webhook={"enable": True, "webhooks": [{"url": f"{http_receiver.url}/hook"}]})
    async with running(made, tmp_path, build) as sink:
        sink.submit(service_change("STOPPED", "RUNNING"))
        sink.submit(license_alert(-5))
        sink.submit(service_change("RUNNING", "STOPPED"))
        sink.submit(alert())  # reload failures are on by default
        await http_receiver.wait_for(1, timeout=WAIT_S)
    # stopping waited for every alert being prepared and flushed the delivery
    assert [r.json()["event"] for r in http_receiver.requests] == ["Qlik Sense reload failed"]
    assert (sink.stats().received, sink.stats().delivered) == (1, 1)


async def test_server_licence_alerts_carry_the_signed_days(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    made = config(
        webhook={
            "enable": True,
            "webhooks": hooks(http_receiver),
            "server_license_alert": {"rate_limit_s": 3600},
        }
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(license_alert(10))
        await http_receiver.wait_for(2, timeout=WAIT_S)
        sink.submit(license_alert(10))  # the next check: limited
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 1, WAIT_S, "one limited")
        sink.submit(license_alert(-5, expiry="2026-11-28"))  # expired: its own limit
        await http_receiver.wait_for(4, timeout=WAIT_S)
        await async_wait_until(lambda: sink.stats().delivered == 4, WAIT_S, "four delivered")

    posts = [r.json() for r in http_receiver.requests_to("/post")]
    assert posts == [
        {
            "event": "server license about to expire alert",
            "licenseExpired": False,
            "expiryDateStr": "2026-12-13",
            "daysUntilExpiry": 10,
        },
        {
            "event": "server license has expired alert",
            "licenseExpired": True,
            "expiryDateStr": "2026-11-28",
            "daysUntilExpiry": -5,
        },
    ]
    gets = [r.query for r in http_receiver.requests_to("/get")]
    assert [(q["event"], q["licenseExpired"], q["daysUntilExpiry"]) for q in gets] == [
        ("server license about to expire alert", "false", "10"),
        ("server license has expired alert", "true", "-5"),
    ]


async def test_the_recurring_licence_status_has_its_own_switch_and_limit(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    alert_only = config(
        webhook={"enable": True, "webhooks": hooks(http_receiver), "server_license_alert": {}}
    )
    async with running(alert_only, tmp_path / "a", build) as sink:
        sink.submit(license_alert(-5).license)  # the status is off until its block is written
    assert http_receiver.requests == [] and sink.stats().received == 0

    made = config(
        webhook={
            "enable": True,
            "webhooks": hooks(http_receiver),
            "server_license_status": {"rate_limit_s": 3600},
            "server_license_alert": {"rate_limit_s": 3600},
        }
    )
    async with running(made, tmp_path / "b", build) as sink:
        assert ServerLicense.kind in sink.kinds
        sink.submit(license_alert(-5, expiry="2026-11-28").license)
        await http_receiver.wait_for(2, timeout=WAIT_S)
        sink.submit(license_alert(-6, expiry="2026-11-28"))  # the alert is not held back by the status
        await http_receiver.wait_for(4, timeout=WAIT_S)
        sink.submit(license_alert(-6, expiry="2026-11-28").license)  # within the hour: limited
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 1, WAIT_S, "one limited")
        await async_wait_until(lambda: sink.stats().delivered == 4, WAIT_S, "four delivered")

    posts = [r.json() for r in http_receiver.requests_to("/post")]
    assert posts[0] == {
        "event": "server license status",
        "licenseExpired": True,
        "expiryDateStr": "2026-11-28",
        "daysUntilExpiry": -5,
    }
    assert posts[1]["event"] == "server license has expired alert"
    (status,) = [
        r.query for r in http_receiver.requests_to("/get") if r.query["event"] == "server license status"
    ]
    assert (status["licenseExpired"], status["daysUntilExpiry"]) == ("true", "-5")
