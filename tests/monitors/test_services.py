"""The service monitor against the simulator's QRS ``servicestatus`` (and sc.exe's text)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

import pytest

from sensebutler.events import Event
from sensebutler.events.monitors import Restarted, ServiceState, ServiceStateChanged
from sensebutler.monitors import sc_exe
from sensebutler.monitors.service_states import ServiceStates
from sensebutler.monitors.services import ServiceMonitor
from sensebutler.qlik.service import QlikService
from sensebutler.simulator import Simulator
from tests.monitors.support import monitors_config, qlik_for

CENTRAL, RIM1, RIM2 = (
    "qlikserver1.lab.example.com",
    "qlikserver2.lab.example.com",
    "qlikserver3.lab.example.com",
)


@pytest.fixture
async def qlik(simulator: Simulator) -> AsyncIterator[QlikService]:
    service = qlik_for(monitors_config(simulator))
    yield service
    await service.stop()


def monitor_for(sim: Simulator, qlik: QlikService, **settings: object) -> ServiceMonitor:
    config = monitors_config(sim, services={"enable": True, **settings}, restarts={"enable": True})
    return ServiceMonitor(config.monitors.services, qlik.qrs, restarts=True)


def changes(events: Sequence[Event]) -> list[tuple[str, str, str, str]]:
    return [
        (e.current.host, e.current.service_name, e.previous, e.current.state)
        for e in events
        if isinstance(e, ServiceStateChanged)
    ]


def states(events: Sequence[Event]) -> dict[tuple[str, str], str]:
    return {(e.host, e.service_name): e.state for e in events if isinstance(e, ServiceState)}


async def test_first_check_reports_stopped_only_then_every_change(
    simulator: Simulator, qlik: QlikService
) -> None:
    monitor = monitor_for(simulator, qlik)
    await simulator.stop_service("Rim1", "proxy")

    first = await monitor.check()
    assert changes(first) == [(RIM1, "QlikSenseProxyService", "UNKNOWN", "STOPPED")]
    seen = states(first)
    # every service QRS knows on every node, and a node without a scheduler is not reported for one
    assert (CENTRAL, "QlikSenseSchedulerService") in seen
    assert (RIM1, "QlikSenseSchedulerService") in seen
    assert (RIM2, "QlikSenseSchedulerService") not in seen
    assert seen[(RIM2, "QlikSenseEngineService")] == "RUNNING"

    await simulator.stop_service("Central", "engine")
    second = await monitor.check()
    assert changes(second) == [(CENTRAL, "QlikSenseEngineService", "RUNNING", "STOPPED")]
    assert len(states(second)) == len(seen)  # the state of every service at every check

    await simulator.start_service("Central", "engine")
    await simulator.start_service("Rim1", "proxy")
    assert sorted(changes(await monitor.check())) == [
        (CENTRAL, "QlikSenseEngineService", "STOPPED", "RUNNING"),
        (RIM1, "QlikSenseProxyService", "STOPPED", "RUNNING"),
    ]
    assert changes(await monitor.check()) == []


async def test_event_carries_butler_template_fields(simulator: Simulator, qlik: QlikService) -> None:
    monitor = monitor_for(
        simulator, qlik, hosts=[{"host": RIM2, "services": [{"name": "engine", "friendly_name": "Engine 3"}]}]
    )
    await simulator.stop_service("Rim2", "engine")
    change = next(e for e in await monitor.check() if isinstance(e, ServiceStateChanged))
    assert change.template_context() == {
        "host": RIM2,
        "serviceStatus": "STOPPED",
        "servicePrevStatus": "UNKNOWN",
        "serviceName": "QlikSenseEngineService",
        "serviceDisplayName": "Qlik Sense Engine Service",
        "serviceFriendlyName": "Engine 3",
        "serviceStartType": "",
        "serviceExePath": "",
    }


async def test_a_host_list_narrows_and_a_service_the_node_lacks_is_named_once(
    simulator: Simulator, qlik: QlikService, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = monitor_for(
        simulator,
        qlik,
        hosts=[{"host": RIM2, "services": [{"name": "QlikSenseSchedulerService"}, {"name": "engine"}]}],
    )
    with caplog.at_level(logging.WARNING, "sensebutler.monitors.services"):
        seen = states(await monitor.check())
        await monitor.check()
    assert {service for host, service in seen if host == RIM2} == {"QlikSenseEngineService"}
    assert (RIM1, "QlikSenseProxyService") in seen  # unlisted hosts: everything
    warnings = [r.getMessage() for r in caplog.records if "does not run" in r.getMessage()]
    assert len(warnings) == 1 and "qlikschedulerservice" in warnings[0].lower().replace("sense", "")


async def test_a_node_whose_services_were_all_down_comes_back_as_one_restart(
    simulator: Simulator, qlik: QlikService
) -> None:
    monitor = monitor_for(simulator, qlik)
    await monitor.check()
    keys = ("engine", "printing", "proxy", "repository")
    for key in keys:
        await simulator.stop_service("Rim2", key)
    down = await monitor.check()
    assert not [e for e in down if isinstance(e, Restarted)]
    for key in keys:
        await simulator.start_service("Rim2", key)
    back = [e for e in await monitor.check() if isinstance(e, Restarted)]
    assert [(e.scope, e.host) for e in back] == [("node", RIM2)]
    assert 0 <= back[0].downtime_s < 600
    assert not [e for e in await monitor.check() if isinstance(e, Restarted)]


def test_the_state_machine_ignores_pending_states() -> None:
    machine = ServiceStates()
    assert machine.update("h", "s", "RUNNING") is None
    assert machine.update("h", "s", "STOP_PENDING") is None
    change = machine.update("H", "S", "STOPPED")
    assert change is not None and (change.previous, change.first_check) == ("RUNNING", False)
    assert machine.update("h", "other", "START_PENDING") is None
    first = machine.update("h", "other", "STOPPED")
    assert first is not None and (first.previous, first.first_check) == ("UNKNOWN", True)


async def test_sc_exe_text_is_parsed(simulator: Simulator) -> None:
    await simulator.stop_service("Rim1", "engine")
    blocks = simulator.sc_query("Rim1").split("\r\n\r\n")
    by_name = {b.split("SERVICE_NAME: ")[1].split("\r\n")[0]: b for b in blocks if "SERVICE_NAME" in b}
    assert sc_exe.parse_state(by_name["QlikSenseEngineService"]) == "STOPPED"
    assert sc_exe.parse_state(by_name["QlikSenseProxyService"]) == "RUNNING"
    assert sc_exe.parse_state("[SC] OpenService FAILED 1060") == "UNKNOWN"
    qc = (
        "[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: QlikSenseProxyService\r\n"
        "        TYPE               : 10  WIN32_OWN_PROCESS\r\n"
        "        START_TYPE         : 2   AUTO_START  (DELAYED)\r\n"
        '        BINARY_PATH_NAME   : "C:\\Program Files\\Qlik\\Sense\\Proxy\\Proxy.exe"\r\n'
        "        DISPLAY_NAME       : Qlik Sense Proxy Service\r\n"
        "        DEPENDENCIES       : QlikSenseRepositoryService\r\n"
        "                           : QlikSenseServiceDispatcher\r\n"
    )
    parsed = sc_exe.parse_config(qc)
    assert parsed.display_name == "Qlik Sense Proxy Service"
    assert parsed.start_type == "Automatic (delayed start)"
    assert parsed.exe_path.endswith('Proxy.exe"')
    assert parsed.dependencies == ("QlikSenseRepositoryService", "QlikSenseServiceDispatcher")


@pytest.mark.parametrize("host", ["a b", "host;rm", "", "x\\y", "h$(x)"])
def test_sc_exe_refuses_unsafe_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="host name"):
        sc_exe.check_host(host)


@pytest.mark.parametrize(
    "name", ['a"b', "a&b", "a|b", "x;y", "`x`", "$x", "(x)", "<x>", "a\nb", "", "x" * 257]
)
def test_sc_exe_refuses_unsafe_service_names(name: str) -> None:
    with pytest.raises(ValueError, match="service name"):
        sc_exe.check_service_name(name)


def test_sc_exe_accepts_ordinary_names() -> None:
    assert sc_exe.check_host("qlik-server_1.lab.example.com")
    assert sc_exe.check_service_name("postgresql-x64-12")
