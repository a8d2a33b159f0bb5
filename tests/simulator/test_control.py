"""The control API and what its operations do to the site: services, faults, licence, engines, events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sensebutler.simulator import Simulator
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.helpers import (
    UdpCollector,
    client,
    compat_patterns,
    parse_datagram,
    qrs,
    qrs_json,
    udp_collector,
)


async def control(
    sim: Simulator, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sim.info.control_url or "", timeout=30) as http:
        return await http.request(method, path, json=body)


async def test_info_status_and_errors(simulator: Simulator) -> None:
    assert (await control(simulator, "GET", "/info")).json()["qrs_port"] == simulator.info.qrs_port
    status = (await control(simulator, "GET", "/status")).json()
    assert status["activity"] == "off" and status["faults"] == [] and status["services"] == []
    assert (await control(simulator, "POST", "/tasks/nosuchtask/reload")).status_code == 404
    bad = await control(simulator, "POST", "/tasks/Reload of Sandbox/reload", {"outcome": "maybe"})
    assert bad.status_code == 400
    assert (await control(simulator, "POST", "/events", {"kind": "nonsense"})).status_code == 400
    assert (await control(simulator, "POST", "/sessions", {"node": "Nowhere"})).status_code == 404
    assert (await control(simulator, "GET", "/nothing")).status_code == 404
    garbage = await control(simulator, "POST", "/sessions", None)
    assert garbage.status_code == 400


async def test_reload_through_control_api(simulator: Simulator) -> None:
    answer = await control(
        simulator,
        "POST",
        "/tasks/Reload of Sandbox/reload",
        {"outcome": "failed", "duration": 0.05, "wait": True},
    )
    assert answer.status_code == 201 and answer.json()["status"] == 8
    task = simulator.model.task("Reload of Sandbox")
    assert (
        task.last_result is not None
        and task.last_result.execution_id == answer.json()["execution_session_id"]
    )
    running = await control(simulator, "POST", f"/tasks/{task.id}/reload", {"duration": 5})
    busy = await control(simulator, "POST", f"/tasks/{task.id}/reload", {"duration": 5})
    assert running.status_code == 201 and busy.status_code == 409


async def test_sessions_through_control_api(simulator: Simulator) -> None:
    added = await control(
        simulator, "POST", "/sessions", {"node": "qlikserver2", "user": "LAB\\anna", "apps": 2}
    )
    assert added.status_code == 201
    body = added.json()
    assert body["node"] == "Rim1" and body["UserId"] == "anna" and len(body["apps"]) == 2
    assert (await control(simulator, "DELETE", f"/sessions/{body['SessionId']}")).status_code == 200
    assert (await control(simulator, "DELETE", f"/sessions/{body['SessionId']}")).status_code == 404
    assert simulator.model.proxy_sessions == {}


async def test_stopping_and_starting_the_engine_service(simulator: Simulator) -> None:
    rim = simulator.info.node("Rim1")
    await simulator.add_session("Rim1", apps=1)
    async with client(simulator) as http:
        before = (await http.get(rim.engine_url + "/engine/healthcheck")).json()
        assert before["session"]["total"] == 1
        assert (
            await control(simulator, "POST", "/services/Rim1/QlikSenseEngineService/stop")
        ).status_code == 200
        with pytest.raises(httpx.ConnectError):
            await http.get(rim.engine_url + "/engine/healthcheck")
        rows = await qrs_json(http, simulator, "/qrs/servicestatus/full", filter="serviceType eq Engine")
        states = {row["serverNodeConfiguration"]["name"]: row["serviceState"] for row in rows}
        assert states == {"Central": 2, "Rim1": 3, "Rim2": 2}
        sc = (await control(simulator, "GET", "/services/Rim1/sc")).text
        assert "SERVICE_NAME: QlikSenseEngineService\r\n" in sc and "STATE              : 1  STOPPED" in sc
        assert (await control(simulator, "POST", "/services/Rim1/engine/start")).status_code == 200
        after = (await http.get(rim.engine_url + "/engine/healthcheck")).json()
    assert after["started"] != before["started"] and after["session"]["total"] == 0
    assert after["apps"]["calls"] < before["apps"]["calls"]


async def test_stopping_the_proxy_ends_its_sessions_and_refuses_connections(simulator: Simulator) -> None:
    await simulator.add_session("Rim2", apps=1)
    await simulator.stop_service("Rim2", "proxy")
    assert not any(session.node.name == "Rim2" for session in simulator.model.proxy_sessions.values())
    async with client(simulator) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(simulator.info.node("Rim2").proxy_url + "/qps/session")
    await simulator.start_service("Rim2", "proxy")
    async with client(simulator) as http:
        response = await http.get(
            simulator.info.node("Rim2").proxy_url + "/qps/session",
            params={"xrfkey": "abcdefghij987654"},
            headers={"X-Qlik-Xrfkey": "abcdefghij987654"},
        )
    assert response.json() == []


async def test_slow_failing_and_tls_refusing_endpoints(simulator: Simulator) -> None:
    engine = simulator.info.node("Central").engine_url + "/engine/healthcheck"
    other = simulator.info.node("Rim1").engine_url + "/engine/healthcheck"
    fault = await control(
        simulator, "POST", "/faults", {"node": "Central", "service": "engine", "mode": "slow", "seconds": 3.0}
    )
    assert fault.status_code == 201
    async with client(simulator, timeout=httpx.Timeout(10.0, read=0.5)) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(engine)
    async with client(simulator) as http:
        assert (await http.get(other)).status_code == 200  # one slow server does not slow the others
    await control(simulator, "DELETE", "/faults")
    await control(
        simulator,
        "POST",
        "/faults",
        {"node": "Central", "service": "qrs", "mode": "error", "status": 500, "path": "/qrs/app"},
    )
    async with client(simulator) as http:
        failing = await qrs(http, simulator, "GET", "/qrs/app")
        assert failing.status_code == 500 and failing.json() == {"message": "Internal Server Error"}
        assert (await qrs(http, simulator, "GET", "/qrs/about")).status_code == 200
    await control(simulator, "POST", "/faults", {"node": "Central", "service": "engine", "mode": "tls"})
    status = (await control(simulator, "GET", "/status")).json()
    assert {"node": "Central", "service": "engine", "path_prefix": "", "mode": "tls"} in status["faults"]
    async with client(simulator) as http:
        with pytest.raises(httpx.TransportError):
            await http.get(engine)
    await control(simulator, "DELETE", "/faults")
    async with client(simulator) as http:
        assert (await http.get(engine)).status_code == 200
        assert (await qrs(http, simulator, "GET", "/qrs/app")).status_code == 200
    wrong = await control(simulator, "POST", "/faults", {"node": "Rim1", "service": "qrs", "mode": "tls"})
    assert wrong.status_code == 400


def _expiry(lic: dict[str, Any]) -> tuple[str, str]:
    """The expiry date as keyDetails and as the LEF's TIMELIMIT line say."""
    details = next(line for line in lic["keyDetails"].split("\n") if line.startswith("Valid To:"))
    lef = next(line for line in lic["lef"].split("\r\n") if line.startswith("TIMELIMIT;"))
    return details.split(":", 1)[1].strip(), lef.split(";")[1]


async def test_license_expiry(simulator: Simulator) -> None:
    def in_ten_days() -> str:
        return (datetime.now(UTC) + timedelta(days=10)).date().isoformat()

    async with client(simulator) as http:
        before = await qrs_json(http, simulator, "/qrs/license")
        expected = {in_ten_days()}
        await control(simulator, "POST", "/license", {"valid_days": 10})
        expected.add(in_ten_days())  # in case midnight (UTC) passed meanwhile
        soon = await qrs_json(http, simulator, "/qrs/license")
        assert soon["isExpired"] is False
        assert (await control(simulator, "POST", "/license/expire")).status_code == 200
        expired = await qrs_json(http, simulator, "/qrs/license")
    assert expired["isExpired"] is True
    assert _expiry(soon)[0] == _expiry(soon)[1] and _expiry(soon)[0] in expected
    assert _expiry(expired)[0] == _expiry(expired)[1] < _expiry(soon)[0] < _expiry(before)[0]
    # the LEF's control number and the signed key change with it; the rest of the LEF stays
    assert len({before["check"], soon["check"], expired["check"]}) == 3
    assert len({before["key"], soon["key"], expired["key"]}) == 3
    assert soon["lef"].split("\r\n")[-1] == soon["check"]
    unchanged = [line for line in before["lef"].split("\r\n")[:-1] if not line.startswith("TIMELIMIT;")]
    assert [
        line for line in expired["lef"].split("\r\n")[:-1] if not line.startswith("TIMELIMIT;")
    ] == unchanged
    assert expired["modifiedDate"] >= soon["modifiedDate"] > before["modifiedDate"]


async def test_engine_restart_and_load(simulator: Simulator) -> None:
    url = simulator.info.node("Rim2").engine_url + "/engine/healthcheck"
    await simulator.add_session("Rim2", apps=2)
    async with client(simulator) as http:
        before = (await http.get(url)).json()
        assert (await control(simulator, "POST", "/engines/Rim2/restart")).status_code == 200
        after = (await http.get(url)).json()
        await control(simulator, "POST", "/engines/Rim2/load", {"cpu": 97.5})
        loaded = (await http.get(url)).json()
    assert after["started"] != before["started"] and after["apps"]["calls"] < before["apps"]["calls"]
    assert after["session"]["total"] == 0 and after["apps"]["loaded_docs"] == []
    assert loaded["saturated"] is True and loaded["cpu"]["total"] == 97.5


@pytest.fixture
async def log_udp() -> AsyncIterator[UdpCollector]:
    async with udp_collector() as collector:
        yield collector


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [
        ("engine", "/qseow-engine/"),
        ("proxy", "/qseow-proxy/"),
        ("repository", "/qseow-repository/"),
        ("scheduler", "/qseow-scheduler/"),
        ("qix-perf", "/qseow-qix-perf/"),
    ],
)
async def test_emit_events_of_a_kind(
    simulator_factory: SimulatorFactory, log_udp: UdpCollector, kind: str, prefix: str
) -> None:
    patterns = compat_patterns()
    sim = await simulator_factory(udp_log_target=log_udp.target)
    answer = await control(sim, "POST", "/events", {"kind": kind, "count": 12, "rate": 200})
    assert answer.json() == {"kind": kind, "emitted": 12}
    received = await log_udp.wait_for(lambda d: d.startswith(prefix), count=12)
    fields = len(patterns[prefix].split(";"))
    for datagram in received:
        assert len(datagram.split(";")) == fields
        parsed = parse_datagram(patterns[prefix], datagram)
        assert parsed["hostname"] in {node.short_name for node in sim.model.nodes}
        assert parsed["level"] in (("INFO",) if kind == "qix-perf" else ("WARN", "ERROR"))
