"""Monitor events and received alerts as store records, read back as the Services and Reloads pages
read them."""

from __future__ import annotations

from pathlib import Path

from sensebutler.events.alerts import AlertReceived
from sensebutler.events.monitors import Restarted, ServiceState, ServiceStateChanged, ServiceStateName
from sensebutler.sinks.store.records import SCRIPT_LOG_TAIL, StoreMapping
from sensebutler.sinks.store.storage import NS, Storage
from tests.sinks.output_events import T0_NS


def printing(state: ServiceStateName, time_ns: int) -> ServiceState:
    return ServiceState(
        time_ns=time_ns,
        host="qlikserver2.lab.example.com",
        node_name="Rim1",
        service_name="QlikSensePrintingService",
        display_name="Qlik Sense Printing Service",
        friendly_name="Printing",
        state=state,
    )


def test_service_states_changes_restarts_and_received_alerts_read_back(tmp_path: Path) -> None:
    mapping = StoreMapping()
    stopped = printing("STOPPED", T0_NS + NS)
    events = [
        printing("RUNNING", T0_NS),
        stopped,
        ServiceStateChanged(time_ns=T0_NS + NS, current=stopped, previous="RUNNING"),
        Restarted(time_ns=T0_NS + 2 * NS, scope="node", host="qlikserver2.lab.example.com", downtime_s=61.4),
        AlertReceived(
            time_ns=T0_NS + 3 * NS, channel="webhook", to="POST /hook", subject="stopped", body="x" * 5000
        ),
    ]
    storage = Storage(tmp_path / "store.sqlite", clock=lambda: T0_NS)
    storage.open()
    result = storage.write([record for event in events for record in mapping.encode(event)])
    since, until = T0_NS - NS, T0_NS + 10 * NS
    assert result.rejected == 0
    assert storage.latest("service", "running", since, group_by="service") == {"Rim1 / Printing": 0.0}
    [change] = storage.entries("service", since, until)
    assert (change["host"], change["name"], change["source"], change["level"]) == (
        "Rim1",
        "Printing",
        "RUNNING",
        "STOPPED",
    )
    [restart] = storage.entries("restart", since, until)
    assert (restart["level"], restart["detail"]) == ("node", "down for up to 61 s")
    [alert] = storage.entries("alert", since, until)
    assert (alert["level"], alert["source"], alert["name"]) == ("webhook", "POST /hook", "stopped")
    assert len(alert["detail"]) == SCRIPT_LOG_TAIL
    storage.close()
