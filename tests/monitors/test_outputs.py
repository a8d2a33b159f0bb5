"""Monitor events as InfluxDB points (written to a real influxd) and MQTT messages."""

from __future__ import annotations

import orjson

from sensebutler.events.monitors import (
    AccessCounts,
    ActiveUsers,
    LicenseReleased,
    LicenseUsage,
    Restarted,
    SenseVersion,
    SenseVersionChanged,
    ServerLicense,
    ServerLicenseAlert,
    ServiceState,
    ServiceStateChanged,
)
from sensebutler.events.polled import ServerRef
from sensebutler.sinks.influxdb.mapping import InfluxMapping, MappingOptions
from sensebutler.sinks.mqtt.config import MqttSection
from sensebutler.sinks.mqtt.topics import TopicMap
from tests.fixtures.servers import InfluxdServer

T = 1_767_000_000_000_000_000
SERVER = ServerRef("Central", "qlikserver1", "central node", (("site", "lab"),))
STATE = ServiceState(
    time_ns=T,
    host="qlikserver1",
    service_name="QlikSenseEngineService",
    display_name="Qlik Sense Engine Service",
    friendly_name="Engine",
    state="STOPPED",
)
LICENSE = ServerLicense(time_ns=T, expired=True, expiry_date="2026-01-01", days_until_expiry=-5)
COUNTS = AccessCounts(True, 50, 42, 40, 1, 0, 7)
EVENTS = [
    STATE,
    Restarted(
        time_ns=T,
        scope="engine",
        host="qlikserver1",
        server=SERVER,
        downtime_s=12.5,
        started="x",
        previous_started="y",
    ),
    LicenseUsage(time_ns=T, professional=COUNTS, analyzer=COUNTS, analyzer_time={"used_minutes": 3.0}),
    LicenseReleased(time_ns=T, license_type="analyzer", user="LAB\\joe", days_since_last_use=40),
    LICENSE,
    SenseVersion(time_ns=T, host="qlikserver1", version="14.187.4", release_label="May 2024 Patch 4"),
]


def test_points_are_accepted_by_influxd_with_butlers_names(influxd: InfluxdServer, influx_db: str) -> None:
    mapping = InfluxMapping(MappingOptions(version=1))
    lines = [line.decode() for event in EVENTS for line in mapping.encode(event)]
    influxd.write(influx_db, lines)
    (state,) = influxd.query(influx_db, "SELECT * FROM win_service_state")
    assert (state["state_num"], state["state_text"], state["startup_mode_num"], state["friendly_name"]) == (
        1,
        "STOPPED",
        -1,
        "Engine",
    )
    (server_license,) = influxd.query(influx_db, "SELECT * FROM qlik_sense_server_license")
    assert (server_license["days_until_expiry"], server_license["license_expired"]) == (-5, True)
    types = {
        row["license_type"]
        for row in influxd.query(influx_db, "SELECT * FROM qlik_sense_license GROUP BY license_type")
    }
    assert types == {"analyzer", "professional", "analyzer_capacity"}
    (released,) = influxd.query(influx_db, "SELECT * FROM qlik_sense_license_release")
    assert (released["user"], released["days_since_last_use"]) == ("LAB\\joe", 40)
    (restart,) = influxd.query(influx_db, "SELECT * FROM sense_restart")
    assert (restart["server_name"], restart["scope"], restart["downtime_s"]) == ("Central", "engine", 12.5)
    assert influxd.query(influx_db, "SELECT version FROM qlik_sense_version")[0]["version"] == "14.187.4"


def test_a_dry_run_release_writes_no_point() -> None:
    event = LicenseReleased(license_type="analyzer", user="LAB\\joe", days_since_last_use=40, dry_run=True)
    assert InfluxMapping(MappingOptions()).encode(event) == []


def test_mqtt_topics_and_payloads_are_butlers() -> None:
    topics = TopicMap(MqttSection(), {}, {})

    def messages(event: object) -> list[tuple[str, bytes]]:
        return [(m.topic, m.payload) for m in topics.messages(event)]  # type: ignore[arg-type]

    ((topic, payload),) = messages(ServiceStateChanged(current=STATE, previous="RUNNING"))
    assert topic == "qliksense/service_stopped/qlikserver1/QlikSenseEngineService"
    assert (
        orjson.loads(payload)["servicePrevStatus"] == "RUNNING"
        and orjson.loads(payload)["serviceStatusChanged"]
    )
    ((topic, payload),) = messages(STATE)
    assert topic == "qliksense/service_status/qlikserver1/QlikSenseEngineService"
    assert "servicePrevStatus" not in orjson.loads(payload)
    assert messages(LICENSE) == [
        (
            "qliksense/qliksense_server_license",
            b'{"licenseExpired":true,"expiryDateStr":"2026-01-01","daysUntilExpiry":-5}',
        )
    ]
    assert messages(ServerLicenseAlert(alert="expired", license=LICENSE, threshold_days=60)) == [
        ("qliksense/qliksense_server_license_expire", b"Qlik Sense server license expired on 2026-01-01")
    ]
    users = ActiveUsers(
        users=("LAB\\a", "LAB\\b"), per_host={"qlikserver1": ("LAB\\a", "LAB\\b"), "qlikserver2": ()}
    )
    assert messages(users) == [
        ("qliksense/users/active/count", b"2"),
        ("qliksense/users/active/usernames", b'["LAB\\\\a","LAB\\\\b"]'),
        ("qliksense/users/activeperserver/qlikserver1/count", b"2"),
        ("qliksense/users/activeperserver/qlikserver2/count", b"0"),
    ]
    version = SenseVersion(host="qlikserver1", version="14.200.1")
    ((topic, payload),) = messages(
        SenseVersionChanged(host="qlikserver1", previous="14.187.4", current=version)
    )
    assert (
        topic == "qliksense/version_changed/qlikserver1" and orjson.loads(payload)["previous"] == "14.187.4"
    )
    ((topic, payload),) = messages(EVENTS[1])
    assert (
        topic == "qliksense/restarted/engine/qlikserver1" and orjson.loads(payload)["downtimeSeconds"] == 12.5
    )
