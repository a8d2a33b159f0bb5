from __future__ import annotations

import getpass
import json
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from sensebutler.config import Config
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.polled import PollCounters, SelfMetrics
from sensebutler.events.udp import QixPerfEvent
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime, StartupError
from sensebutler.simulator.udp_samples import KINDS
from sensebutler.sinks.mqtt.records import Message, pack, unpack
from sensebutler.sinks.mqtt.sink import MqttSink, build
from sensebutler.sources.udp import parse_task_datagram
from sensebutler.sources.udp.inputs import build as build_udp_inputs
from tests.alerts.samples import APP_ID, EXECUTION_ID, TASK_ID, alert, datagram
from tests.fixtures.net import async_wait_until, port_accepts
from tests.fixtures.servers import MosquittoServer, MqttCollector, MqttMessage, TlsFiles, unique_name
from tests.sinks.output_events import health, scheduler_log_event, server, sessions, user_event

LOG_KINDS = ("engine", "proxy", "repository", "scheduler", "qix-perf")
USER_KINDS = ("user-session", "user-connection")
FAST_DELIVERY = {
    "batch_size": 100,
    "flush_interval_s": 0.02,
    "send_timeout_s": 3,
    "retry": {"initial_s": 0.05, "max_s": 0.2, "attempts_before_spool": 2},
}


def user_topics(prefix: str, everything: bool = True) -> dict[str, Any]:
    return {
        "everything": {"enable": everything, "topic": f"{prefix}/userevent"},
        "session_start": {"topic": f"{prefix}/userevent/session/start"},
        "session_stop": {"topic": f"{prefix}/userevent/session/stop"},
        "connection_open": {"topic": f"{prefix}/userevent/connection/open"},
        "connection_close": {"topic": f"{prefix}/userevent/connection/close"},
    }


def make_config(host: str, port: int, prefix: str, **mqtt: Any) -> Config:
    return Config.model_validate(
        {
            "udp": {"log_events": {"tags": {"qs_env": "dev"}}, "user_events": {"tags": {"team": "bi"}}},
            "mqtt": {
                "enable": True,
                "host": host,
                "port": port,
                "base_topic": f"{prefix}/butler-sos/",
                "log_events": {"topic": f"{prefix}/logevent"},
                "user_events": user_topics(prefix),
                "self_metrics_topic": f"{prefix}/self",
                "delivery": FAST_DELIVERY,
                **mqtt,
            },
        }
    )


def make_sink(config: Config, state_dir: Path) -> MqttSink:
    (sink,) = build(Runtime(config, Router(), state_dir))
    assert isinstance(sink, MqttSink)
    return sink


def by_topic(messages: list[MqttMessage]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for message in messages:
        found.setdefault(message.topic, []).append(message.payload)
    return found


@pytest.fixture
def prefix() -> str:
    return unique_name("sb")


@pytest.fixture
async def collector(mosquitto: MosquittoServer, prefix: str) -> AsyncIterator[MqttCollector]:
    async with MqttCollector(mosquitto.host, mosquitto.port, f"{prefix}/#") as collecting:
        yield collecting


async def test_every_topic_with_butler_sos_payloads(
    mosquitto: MosquittoServer, collector: MqttCollector, prefix: str, tmp_path: Path
) -> None:
    sink = make_sink(make_config(mosquitto.host, mosquitto.port, prefix), tmp_path)
    await sink.start()
    central = server("central", "qs-central")
    sink.submit(health(central))
    sink.submit(sessions(central, "/", count=2))
    sink.submit(sessions(central, "/hdr", count=0))
    sink.submit(scheduler_log_event())
    sink.submit(user_event("Open connection"))
    messages = await collector.wait_for(21 + 1 + 2 + 2 + 2)
    await sink.stop()

    base = f"{prefix}/butler-sos/qs-central/"
    topics = by_topic(messages)
    health_values = {t.removeprefix(base): p[0].decode() for t, p in topics.items() if t.startswith(base)}
    sessions_root = health_values.pop("usersession/")
    sessions_hdr = health_values.pop("usersession/hdr")
    assert health_values == {
        "version": "14.173.8",
        "started": "20240110T030001.000+0100",
        "mem/comitted": "10240.5",
        "mem/allocated": "12288.25",
        "mem/free": "20480",
        "cpu/total": "12",
        "session/active": "4",
        "session/total": "17",
        "apps/active_docs": "a1,SessionApp_1",
        "apps/loaded_docs": "a1,a2,SessionApp_1",
        "apps/in_memory_docs": "a1,a2,a3,SessionApp_1,SessionApp_2",
        "apps/calls": "1520334",
        "apps/selections": "88120",
        "users/active": "3",
        "users/total": "11",
        "cache/hits": "9911",
        "cache/lookups": "12040",
        "cache/added": "2100",
        "cache/replaced": "310",
        "cache/bytes_added": "884736",
        "saturated": "false",
        "cache/hit_ratio": "82",
    }
    assert json.loads(sessions_root) == [
        {"UserDirectory": "ACME", "UserId": "jdoe", "SessionId": "5e1f1f1f-aaaa-bbbb-cccc-000000000000"},
        {"UserDirectory": "ACME", "UserId": "asmith", "SessionId": "5e1f1f1f-aaaa-bbbb-cccc-000000000001"},
    ]
    assert sessions_root.startswith('[\n  {\n    "UserDirectory": "ACME",')  # pretty-printed, as Butler SOS
    assert json.loads(sessions_hdr) == []

    log_topic = f"{prefix}/logevent"
    subsystem_topic = f"{log_topic}/system/scheduler/scheduler/slave/tasks/reloadtask"
    assert topics[log_topic] == topics[subsystem_topic]
    assert json.loads(topics[log_topic][0]) == {
        "source": "qseow-scheduler",
        "log_row": 14,
        "ts_iso": "2021-11-09T19:37:44.331+0100",
        "ts_local": "2021-11-09 19:37:44,331",
        "level": "ERROR",
        "host": "QS-PROD-01",
        "subsystem": "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask",
        "windows_user": "LAB\\qlikservice",
        "message": "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
        "exception_message": "",
        "user_directory": "LAB",
        "user_id": "goran",
        "user_full": "LAB\\goran",
        "task_name": "Manually triggered reload of Test failing reloads 2",
        "app_name": "Test failing reloads 2",
        "task_id": "dec2a02a-1680-44ef-8dc2-e2bfb180af87",
        "app_id": "e7af59a0-c243-480d-9571-08727551a66f",
        "execution_id": "4831c6a5-34f6-45bb-9d40-73a6e6992670",
        "category": [{"name": "qs_log_category", "value": "reload-failed"}],
        "tags": {"qs_env": "dev"},
    }

    user_payload = {
        "messageType": "qseow-proxy-connection",
        "host": "QS-PROD-01",
        "command": "Open connection",
        "userDir": "ACME",
        "userId": "jdoe",
        "origin": "https://qlik.acme.com",
        "context": "/app/7d5f6e2a-1111-2222-3333-444444444444?reloaduri=x",
        "message": "connection Opened for session 9a8b; UserAgent: Mozilla/5.0 Chrome/120.0",
        "tags": {"team": "bi"},
        "appId": "7d5f6e2a-1111-2222-3333-444444444444",
        "appName": "Operations Dashboard",
        "uaBrowserName": "Chrome",
        "uaBrowserMajorVersion": "120",
        "uaOsName": "Windows",
        "uaOsVersion": "NT 10.0",
    }
    assert [json.loads(p) for p in topics[f"{prefix}/userevent"]] == [user_payload]
    assert [json.loads(p) for p in topics[f"{prefix}/userevent/connection/open"]] == [user_payload]
    assert {m.qos for m in messages} == {1}
    assert sink.stats().delivered == 28


async def test_qix_perf_self_metrics_and_switched_off_topics(
    mosquitto: MosquittoServer, collector: MqttCollector, prefix: str, tmp_path: Path
) -> None:
    config = make_config(
        mosquitto.host,
        mosquitto.port,
        prefix,
        qos=0,
        log_events={"topic": f"{prefix}/logevent", "publish_to_topic": False},
        user_events=user_topics(prefix, everything=False),
    )
    sink = make_sink(config, tmp_path)
    await sink.start()
    sink.submit(health(server(host="qs+odd#host"), cache_lookups=0, saturated=True))
    sink.submit(
        QixPerfEvent(
            host="QS-PROD-01",
            subsystem="QixPerformance.Engine.Engine",
            method="Doc::DoReload",
            process_time=91234.0,
            proxy_session_id="0",
            event_activity_source="non-user",
        )
    )
    sink.submit(user_event("Stop session", app_id="", app_name="", ua_browser_name="", ua_os_name=""))
    sink.submit(
        SelfMetrics(
            version="0.1.0",
            instance="box-1",
            uptime_s=12.5,
            rss_bytes=1000,
            cpu_pct=1.5,
            polls={"health": PollCounters(1, 0, 0, 2.0, 2.0)},
        )
    )
    messages = await collector.wait_for(21 + 1 + 1 + 1)
    await sink.stop()
    topics = by_topic(messages)
    odd = f"{prefix}/butler-sos/qs_odd_host/"
    assert topics[odd + "saturated"] == [b"true"]
    assert odd + "cache/hit_ratio" not in topics  # only when there were lookups
    (qix,) = topics[f"{prefix}/logevent/qixperformance/engine/engine"]
    document = json.loads(qix)
    assert document["source"] == "qseow-qix-perf"
    assert document["method"] == "Doc::DoReload"
    assert document["process_time"] == 91234.0
    assert document["event_activity_source"] == "non-user"
    assert document["category"] == []
    assert f"{prefix}/logevent" not in topics
    assert f"{prefix}/userevent" not in topics
    (stop,) = topics[f"{prefix}/userevent/session/stop"]
    assert "appId" not in json.loads(stop) and "uaBrowserName" not in json.loads(stop)
    (own,) = topics[f"{prefix}/self/box-1"]
    own_document = json.loads(own)
    assert own_document["rss_bytes"] == 1000
    assert own_document["polls"]["health"]["polls"] == 1
    assert {m.qos for m in messages} == {0}


async def test_broker_down_messages_are_spooled_and_arrive_after_restart(
    mosquitto_factory: Callable[[], MosquittoServer], prefix: str, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    # one record per batch: each message is sent (and fails) on its own, whenever it comes
    delivery = {**FAST_DELIVERY, "batch_size": 1}
    config = make_config(broker.host, broker.port, prefix, retain=True, delivery=delivery)
    sink = make_sink(config, tmp_path)
    await sink.start()
    stats = sink.stats()
    sink.submit(sessions(server(host="before"), "/"))
    await async_wait_until(lambda: stats.delivered == 1, 5, "the first message delivered")

    broker.stop()
    for i in range(5):
        sink.submit(sessions(server(host=f"host{i}"), "/", count=i % 3))
    await async_wait_until(lambda: stats.spool_records == 5, 10, "five messages in the spool")
    assert stats.delivered == 1

    broker.start()
    await async_wait_until(lambda: stats.delivered == 6, 15, "the spooled messages delivered")
    assert stats.spool_records == 0
    # the broker kept them (retain), so a subscriber arriving now receives every one
    async with MqttCollector(broker.host, broker.port, f"{prefix}/butler-sos/+/usersession/") as collector:
        messages = await collector.wait_for(5)
    await sink.stop()
    assert sorted(m.topic for m in messages) == [
        f"{prefix}/butler-sos/host{i}/usersession/" for i in range(5)
    ]
    assert all(m.retain for m in messages)
    assert [len(json.loads(m.payload)) for m in sorted(messages, key=lambda m: m.topic)] == [0, 1, 2, 0, 1]
    assert stats.delivered == 6
    assert stats.spooled == 5
    assert stats.retried >= 1
    assert not stats.dropped


class SecureMosquitto(MosquittoServer):
    """mosquitto that takes only TLS connections with a user name and password."""

    username = "sensebutler"
    password = "mqtt-secret"

    def __init__(self, workdir: Path, tls: TlsFiles) -> None:
        self.tls = tls
        super().__init__(workdir)

    def _argv(self, executable: str) -> list[str]:
        passwords = self.workdir / "passwords"
        passwords.write_text("")
        subprocess.run(["mosquitto_passwd", "-b", str(passwords), self.username, self.password], check=True)
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {self.host}\n"
            f"cafile {self.tls.ca_cert_path}\ncertfile {self.tls.cert_path}\nkeyfile {self.tls.key_path}\n"
            f"allow_anonymous false\npassword_file {passwords}\npersistence false\nlog_dest stderr\n"
            # as root, mosquitto would switch to its own user, which cannot read the pytest temp dir
            f"user {getpass.getuser()}\n"
        )
        return [executable, "-c", str(config)]

    def _ready(self) -> bool:
        return port_accepts(self.port, self.host)


async def test_tls_and_credentials(tls_files: TlsFiles, tmp_path: Path, prefix: str) -> None:
    (tmp_path / "broker").mkdir()
    broker = SecureMosquitto(tmp_path / "broker", tls_files)
    broker.start()
    try:
        tls = {"enable": True, "ca": str(tls_files.ca_cert_path)}
        good = make_config(
            "127.0.0.1", broker.port, prefix, tls=tls, username=broker.username, password=broker.password
        )
        sink = make_sink(good, tmp_path / "good")
        await sink.start()
        sink.submit(sessions(server(host="secure"), "/"))
        await async_wait_until(lambda: sink.stats().delivered == 1, 5, "delivery over TLS")
        await sink.stop()

        wrong = make_config("127.0.0.1", broker.port, prefix, tls=tls, username=broker.username, password="x")
        refused = make_sink(wrong, tmp_path / "wrong")
        await refused.start()  # the broker refusing is not a startup failure: data waits in the spool
        refused.submit(sessions(server(host="secure"), "/"))
        await async_wait_until(lambda: refused.stats().spool_records == 1, 10, "the message spooled")
        await refused.stop()
        assert "connect" in refused.stats().last_error
    finally:
        broker.stop()


async def test_unreadable_tls_files_fail_startup(tmp_path: Path, prefix: str) -> None:
    config = make_config("127.0.0.1", 1, prefix, tls={"enable": True, "ca": str(tmp_path / "missing.pem")})
    sink = make_sink(config, tmp_path)
    with pytest.raises(StartupError, match=r"mqtt.tls.ca: cannot read .*missing.pem"):
        await sink.start()


def test_records_round_trip_and_bad_topics_are_refused() -> None:
    message = Message("a/b/ü", b"\x00payload;\n", 2, True)
    assert unpack(pack(message)) == message
    for topic in ("", "a/+/b", "a/#", "a\x00b"):
        with pytest.raises(ValueError):
            pack(Message(topic, b""))
    with pytest.raises(ValueError):
        unpack(b"\x09\x00\x00\x00\x01a")
    with pytest.raises(ValueError):
        unpack(b"\x01")


def test_disabled_builds_nothing_and_every_kind_encodes(tmp_path: Path) -> None:
    assert build(Runtime(Config(), Router(), tmp_path)) == []
    sink = make_sink(make_config("127.0.0.1", 1883, "p"), tmp_path)
    assert sink.kinds == {
        *("health", "sessions", "log", "qix_perf", "user", "self", "reload_alert"),
        # the monitors' events (docs/monitors.md)
        *("service_state", "service_state_changed", "server_license", "server_license_alert"),
        *("active_users", "restarted", "sense_version_changed", "log_db_entry"),
    }
    record = next(iter(sink.encode(user_event("Start session"))))
    assert unpack(record).topic == "p/userevent"
    assert orjson.loads(unpack(record).payload)["command"] == "Start session"


async def test_real_datagrams_of_every_log_source_and_user_kind_reach_the_broker(
    mosquitto: MosquittoServer, collector: MqttCollector, prefix: str, tmp_path: Path
) -> None:
    config = make_config(mosquitto.host, mosquitto.port, prefix, delivery={**FAST_DELIVERY, "batch_size": 1})
    udp = {
        "metrics": {"enable": False},
        "log_events": {
            "enable": True,
            "host": "127.0.0.1",
            "port": 0,
            "tags": {"qs_env": "dev"},
            "engine_performance_monitor": {"enable": True, "monitor_filter": {"all_apps": {"enable": True}}},
        },
        "user_events": {"enable": True, "host": "127.0.0.1", "port": 0},
    }
    config = Config.model_validate({**config.model_dump(), "udp": udp})
    runtime = Runtime(config, Router(), tmp_path)
    (sink,) = build(runtime)
    runtime.router.add(sink)
    inputs = {udp_input.handler.event_type: udp_input for udp_input in build_udp_inputs(runtime)}
    await sink.start()
    for udp_input in inputs.values():
        await udp_input.start()
    records = {name: KINDS[name].record(0) for name in LOG_KINDS + USER_KINDS}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for name in LOG_KINDS + USER_KINDS:
            target = inputs["log" if name in LOG_KINDS else "user"].listener.port
            sender.sendto(KINDS[name].datagram(0), ("127.0.0.1", target))
        messages = await collector.wait_for(2 * len(LOG_KINDS) + 2 * len(USER_KINDS), timeout=10)
    for udp_input in inputs.values():
        await udp_input.stop()
    await sink.stop()

    topics = by_topic(messages)
    on_base = [json.loads(payload) for payload in topics[f"{prefix}/logevent"]]
    assert sorted(event["source"] for event in on_base) == sorted(f"qseow-{name}" for name in LOG_KINDS)
    for event in on_base:
        record = records[event["source"].removeprefix("qseow-")]
        assert record is not None
        assert event["subsystem"] == record.logger
        assert event["tags"] == {"qs_env": "dev"}
        path = "/".join(record.logger.lower().split("."))
        assert json.loads(topics[f"{prefix}/logevent/{path}"][0])["subsystem"] == record.logger
        if event["source"] != "qseow-qix-perf":
            assert event["message"] == record.message
            assert event["level"] == record.level
    user_events = [json.loads(payload) for payload in topics[f"{prefix}/userevent"]]
    assert len(user_events) == 2
    for event in user_events:
        command_topic = {
            "Start session": "session/start",
            "Stop session": "session/stop",
            "Open connection": "connection/open",
            "Close connection": "connection/close",
        }[event["command"]]
        assert [json.loads(p) for p in topics[f"{prefix}/userevent/{command_topic}"]] == [event]
    assert not sink.stats().dropped


def task_topics(prefix: str, **changes: Any) -> dict[str, Any]:
    topics: dict[str, Any] = {
        "failure": {"topic": f"{prefix}/task_failure"},
        "failure_full": {"topic": f"{prefix}/task_failure_full"},
        "aborted": {"topic": f"{prefix}/task_aborted"},
        "aborted_full": {"topic": f"{prefix}/task_aborted_full"},
    }
    topics.update(changes)
    return topics


def reload_outcome(kind: str, **changes: Any) -> ReloadAlert:
    return msgspec.structs.replace(
        alert(**changes), outcome=kind, source=parse_task_datagram(datagram(kind), 0)
    )


#: butler.md §8.4: the keys of the _full topics' JSON
BUTLER_FULL_KEYS = {
    "hostName",
    "user",
    "taskName",
    "taskId",
    "appName",
    "appId",
    "logTimeStamp",
    "logLevel",
    "executionId",
    "logMessage",
    "qs_appTags",
    "qs_appCustomProperties",
    "qs_taskTags",
    "qs_taskCustomProperties",
    "qs_taskMetadata",
}


async def test_failed_and_aborted_reloads_reach_butlers_task_topics(
    mosquitto: MosquittoServer, collector: MqttCollector, prefix: str, tmp_path: Path
) -> None:
    config = make_config(
        mosquitto.host,
        mosquitto.port,
        prefix,
        task_topics=task_topics(
            prefix, aborted_full={"enable": False, "topic": f"{prefix}/task_aborted_full"}
        ),
    )
    sink = make_sink(config, tmp_path)
    await sink.start()
    sink.submit(reload_outcome("failed"))
    sink.submit(reload_outcome("aborted", script_log=None, missing=("script log",)))
    sink.submit(reload_outcome("success"))  # Butler publishes no successes
    sink.submit(
        msgspec.structs.replace(reload_outcome("failed"), task_type="external_program")
    )  # nor other types
    messages = await collector.wait_for(3)
    await sink.stop()

    topics = by_topic(messages)
    assert set(topics) == {f"{prefix}/task_failure", f"{prefix}/task_failure_full", f"{prefix}/task_aborted"}
    assert topics[f"{prefix}/task_failure"] == [b"Reload of Sales"]
    assert topics[f"{prefix}/task_aborted"] == [b"Reload of Sales"]
    (full,) = [json.loads(payload) for payload in topics[f"{prefix}/task_failure_full"]]
    assert set(full) == BUTLER_FULL_KEYS | {"missing"}
    assert full["hostName"] == "QLIKSERVER1"
    assert full["user"] == "LAB\\goran"
    assert full["taskName"] == "Reload of Sales"
    assert full["taskId"] == TASK_ID
    assert full["appName"] == "Sales & <Marketing>"
    assert full["appId"] == APP_ID
    assert full["logTimeStamp"] == "2024-01-05 11:22:11,123"
    assert full["logLevel"] == "ERROR"
    assert full["executionId"] == EXECUTION_ID
    assert full["logMessage"] == "Max retries reached"
    assert full["qs_appTags"] == ["Sales"]
    assert full["qs_appCustomProperties"] == [{"name": "Department", "value": "Sales"}]
    assert full["qs_taskTags"] == ["Sales", "Nightly"]
    assert full["qs_taskCustomProperties"] == [{"name": "Butler_FailedAlertEnableEmail", "value": "Yes"}]
    metadata = full["qs_taskMetadata"]
    assert metadata["id"] == TASK_ID
    assert metadata["taskType"] == 0
    assert metadata["isManuallyTriggered"] is True
    assert metadata["maxRetries"] == 2
    assert metadata["customProperties"] == [
        {"definition": {"name": "Butler_FailedAlertEnableEmail"}, "value": "Yes"}
    ]
    assert metadata["operational"] == {"nextExecution": "1753-01-01T00:00:00.000Z"}
    assert full["missing"] == []
    assert sink.stats().delivered == 3


def test_task_topics_switched_off_give_nothing(tmp_path: Path) -> None:
    off = {"enable": False, "topic": "x"}
    config = make_config(
        "127.0.0.1",
        1883,
        "p",
        task_topics={"failure": off, "failure_full": off, "aborted": off, "aborted_full": off},
    )
    sink = make_sink(config, tmp_path)
    assert list(sink.encode(reload_outcome("failed"))) == []
    assert list(sink.encode(reload_outcome("aborted"))) == []
