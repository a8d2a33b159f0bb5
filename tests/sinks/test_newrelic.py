from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from pydantic import ValidationError

from sensebutler.config import Config
from sensebutler.events.alerts import NameValue, ReloadAlert
from sensebutler.events.polled import PollCounters, SelfMetrics, SinkCounters
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.newrelic.client import MAX_BODY_BYTES, bodies
from sensebutler.sinks.newrelic.records import unpack
from sensebutler.sinks.newrelic.sink import NewRelicSink, build
from tests.alerts.samples import EXECUTION_ID, TASK_ID, alert
from tests.fixtures.net import async_wait_until, free_tcp_port
from tests.fixtures.servers import HttpReceiver, RecordedRequest
from tests.sinks.output_events import T0_NS, health, scheduler_log_event, server, sessions, user_event

FAST_DELIVERY = {
    "batch_size": 100,
    "flush_interval_s": 0.02,
    "retry": {"initial_s": 0.02, "max_s": 0.1, "attempts_before_spool": 3},
}
ROUTING = {
    "health": ["prod"],
    "sessions": ["ops"],
    "self_metrics": ["ops"],
    "log_events": ["prod"],
    "user_events": ["prod", "ops"],
}
T0_MS = T0_NS // 1_000_000


def make_config(url: str, **new_relic: Any) -> Config:
    return Config.model_validate(
        {
            "polling": {"health": {"interval_s": 30}, "sessions": {"interval_s": 20}},
            "self_metrics": {"interval_s": 60},
            "udp": {"log_events": {"tags": {"site": "sto"}}, "user_events": {"tags": {"team": "bi"}}},
            "new_relic": {
                "enable": True,
                "accounts": [
                    {"name": "prod", "account_id": 111, "insert_api_key": "NRAK-PROD-KEY"},
                    {"name": "ops", "account_id": "222", "insert_api_key": "NRAK-OPS-KEY"},
                ],
                "metric_url": f"{url}/metric/v1",
                "event_url": url,
                "headers": {"X-Team": "bi"},
                "static_attributes": {"qs_env": "dev"},
                "routing": ROUTING,
                "delivery": FAST_DELIVERY,
                **new_relic,
            },
        }
    )


def make_sink(config: Config, state_dir: Path) -> NewRelicSink:
    (sink,) = build(Runtime(config, Router(), state_dir))
    assert isinstance(sink, NewRelicSink)
    return sink


def by_key(requests: list[RecordedRequest]) -> dict[tuple[str, str], list[Any]]:
    """Request bodies by (path, Api-Key)."""
    found: dict[tuple[str, str], list[Any]] = {}
    for request in requests:
        found.setdefault((request.path, request.headers["api-key"]), []).append(request.json())
    return found


async def test_payloads_go_to_each_kinds_own_accounts_with_their_keys(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    http_receiver.respond("/metric/v1", 202)
    sink = make_sink(make_config(http_receiver.url), tmp_path)
    central = server("central", "qs-central", env="prod")
    # submitted before start: the first batch holds every kind, so one batch is split per account
    sink.submit(health(central))
    sink.submit(sessions(central, "/hdr", count=3))
    sink.submit(scheduler_log_event())
    sink.submit(user_event())
    sink.submit(
        SelfMetrics(
            time_ns=T0_NS,
            version="0.1.0",
            instance="box-1",
            uptime_s=12.5,
            rss_bytes=1000,
            cpu_pct=1.5,
            sinks={"mqtt": SinkCounters(5, 1, 2, {"rejected": 3}, 0, 0, 0)},
            polls={"health": PollCounters(9, 2, 1, 3.0, 4.0)},
        )
    )
    await sink.start()
    requests = await http_receiver.wait_for(4)
    await sink.stop()

    assert len(requests) == 4
    for request in requests:
        assert request.method == "POST"
        assert request.headers["content-encoding"] == "gzip"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-team"] == "bi"
    bodies_by = by_key(requests)
    assert set(bodies_by) == {
        ("/metric/v1", "NRAK-PROD-KEY"),
        ("/metric/v1", "NRAK-OPS-KEY"),
        ("/v1/accounts/111/events", "NRAK-PROD-KEY"),
        ("/v1/accounts/222/events", "NRAK-OPS-KEY"),
    }

    (health_body,) = bodies_by[("/metric/v1", "NRAK-PROD-KEY")]
    (block,) = health_body
    attributes = block["common"].pop("attributes")
    assert block["common"] == {"timestamp": T0_MS, "interval.ms": 30000}
    assert attributes["host"] == "qs-central"
    assert attributes["server_name"] == "central"
    assert attributes["server_description"] == "central node"
    assert attributes["env"] == "prod"
    assert attributes["qs_env"] == "dev"
    assert "sensebutlerVersion" in attributes
    metrics = {m["name"]: m["value"] for m in block["metrics"]}
    assert {m["type"] for m in block["metrics"]} == {"gauge"}
    assert metrics == {
        "qs_memCommited": 10240.5 * 1048576,
        "qs_memAllocated": 12288.25 * 1048576,
        "qs_memFree": 20480 * 1048576,
        "qs_cpuTotal": 12,
        "qs_engineCalls": 1520334,
        "qs_engineSelections": 88120,
        "qs_engineSessionsActive": 4,
        "qs_engineSessionsTotal": 17,
        "qs_engineUsersActive": 3,
        "qs_engineUsersTotal": 11,
        "qs_engineSaturated": 0,
        "qs_docsActiveCount": 2,
        "qs_docsLoadedCount": 3,
        "qs_docsInMemoryCount": 5,
        "qs_cacheHits": 9911,
        "qs_cacheLookups": 12040,
        "qs_cacheaAdded": 2100,
        "qs_cacheReplaced": 310,
        "qs_cacheBytesAdded": 884736,
    }

    (ops_metrics,) = bodies_by[("/metric/v1", "NRAK-OPS-KEY")]
    session_block, self_block = ops_metrics
    assert session_block["metrics"] == [{"name": "qs_proxySessions", "type": "gauge", "value": 3}]
    assert session_block["common"]["interval.ms"] == 20000
    assert session_block["common"]["attributes"]["user_session_virtual_proxy"] == "/hdr"
    assert session_block["common"]["attributes"]["user_session_host"] == "qs-central:4243"
    assert self_block["common"]["interval.ms"] == 60000
    own = {
        (m["name"], tuple(sorted(m.get("attributes", {}).items()))): m["value"] for m in self_block["metrics"]
    }
    assert own[("qs_butlerSosProcessMem", ())] == 1000
    assert own[("qs_butlerSosUptimeMillisec", ())] == 12500
    assert own[("sensebutler.sink.delivered", (("sink", "mqtt"),))] == 5
    assert own[("sensebutler.sink.dropped", (("reason", "rejected"), ("sink", "mqtt")))] == 3
    assert own[("sensebutler.poll.skipped_overlap", (("poller", "health"),))] == 1

    (prod_events,) = bodies_by[("/v1/accounts/111/events", "NRAK-PROD-KEY")]
    log_item, user_item = prod_events
    assert log_item["eventType"] == "qs_logEvent"
    assert log_item["timestamp"] == T0_MS
    assert log_item["qs_log_source"] == "qseow-scheduler"
    assert log_item["qs_log_level"] == "ERROR"
    assert log_item["qs_task_name"] == "Manually triggered reload of Test failing reloads 2"
    assert log_item["qs_execution_id"] == "4831c6a5-34f6-45bb-9d40-73a6e6992670"
    assert log_item["qs_user_full"] == "LAB\\goran"
    assert log_item["qs_log_category"] == "reload-failed"
    assert log_item["site"] == "sto"
    assert log_item["qs_env"] == "dev"
    for attribute in ("qs_ts_iso", "qs_subsystem", "qs_app_name", "qs_exception_message"):
        assert attribute in log_item
    # a scheduler event has no such fields: Butler SOS posts no attribute for them (NRQL IS NULL)
    for attribute in ("qs_proxy_session_id", "qs_engine_exe_version", "qs_session_id", "qs_command"):
        assert attribute not in log_item
    hashed = hashlib.shake_256(b"ACME\\jdoe").hexdigest(8)
    assert user_item == {
        "eventType": "qs_userEvent",
        "timestamp": T0_MS,
        "qs_host": "QS-PROD-01",
        "qs_event_action": "Open connection",
        "qs_userFull": hashed,
        "qs_userDirectory": hashlib.shake_256(b"ACME").hexdigest(8),
        "qs_userId": hashlib.shake_256(b"jdoe").hexdigest(8),
        "qs_origin": "https://qlik.acme.com",
        "qs_appId": "7d5f6e2a-1111-2222-3333-444444444444",
        "qs_appName": "Operations Dashboard",
        "qs_uaBrowserName": "Chrome",
        "qs_uaBrowserMajorVersion": "120",
        "qs_uaOsName": "Windows",
        "qs_uaOsVersion": "NT 10.0",
        "team": "bi",
        "qs_env": "dev",
        "sensebutlerVersion": user_item["sensebutlerVersion"],
    }
    assert bodies_by[("/v1/accounts/222/events", "NRAK-OPS-KEY")] == [[user_item]]
    assert sink.stats().delivered == 6  # one record per (item, account)


async def test_server_error_is_retried_then_delivered(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    http_receiver.respond("/metric/v1", 500, 503, 202)
    sink = make_sink(make_config(http_receiver.url), tmp_path)
    sink.submit(health(server()))
    await sink.start()
    await async_wait_until(lambda: sink.stats().delivered == 1, 5, "the retried delivery")
    await sink.stop()
    assert [r.status for r in http_receiver.requests_to("/metric/v1")] == [500, 503, 202]
    assert sink.stats().retried == 2
    assert not sink.stats().dropped


async def test_bad_request_is_dropped_and_counted(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    http_receiver.respond("/v1/accounts/111/events", 400)
    sink = make_sink(make_config(http_receiver.url), tmp_path)
    sink.submit(scheduler_log_event())
    sink.submit(scheduler_log_event(level="WARN"))
    await sink.start()
    await async_wait_until(lambda: sink.stats().dropped["rejected"] == 2, 5, "the rejected batch")
    await sink.stop()
    assert len(http_receiver.requests) == 1  # not retried
    assert sink.stats().delivered == 0
    assert "HTTP 400" in sink.stats().last_error


async def test_refused_key_is_loud_but_never_logged(
    http_receiver: HttpReceiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    http_receiver.respond("/v1/accounts/222/events", 403)
    sink = make_sink(make_config(http_receiver.url), tmp_path)
    sink.submit(user_event())
    with caplog.at_level(logging.INFO):
        await sink.start()
        await async_wait_until(lambda: sink.stats().dropped["rejected"] == 2, 5, "the refused batch")
        await sink.stop()
    # prod took its part, ops refused its key: not retried, and the batch counts as rejected
    assert len(http_receiver.requests) == 2
    refused = [
        r for r in caplog.records if r.levelno == logging.ERROR and "refused the insert key" in r.getMessage()
    ]
    assert refused and "'ops'" in refused[0].getMessage()
    assert "NRAK" not in caplog.text


async def test_one_account_down_does_not_duplicate_the_others(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    http_receiver.respond("/v1/accounts/222/events", 503, 503, 202)
    sink = make_sink(make_config(http_receiver.url), tmp_path)
    sink.submit(user_event())
    await sink.start()
    await async_wait_until(lambda: sink.stats().delivered == 2, 5, "delivery to both accounts")
    await sink.stop()
    assert len(http_receiver.requests_to("/v1/accounts/111/events")) == 1
    assert [r.status for r in http_receiver.requests_to("/v1/accounts/222/events")] == [503, 503, 202]


async def test_unreachable_endpoint_is_transient(tmp_path: Path) -> None:
    sink = make_sink(make_config(f"http://127.0.0.1:{free_tcp_port()}"), tmp_path)  # nothing listens
    sink.submit(health(server()))
    await sink.start()
    await async_wait_until(lambda: sink.stats().spool_records == 1, 5, "the record spooled")
    await sink.stop()
    assert not sink.stats().dropped


def test_filters_groups_and_scrambling(tmp_path: Path) -> None:
    config = make_config(
        "http://nr.invalid",
        metric_groups={"memory": False, "cache": False, "doc_count": False},
        log_events={"sources": ["engine", "scheduler"], "levels": ["error"]},
        scramble_users=False,
    )
    sink = make_sink(config, tmp_path)

    def items(event: Any) -> list[Any]:
        return [orjson.loads(unpack(record)[2]) for record in sink.encode(event)]

    (block,) = items(health(server()))
    assert {m["name"] for m in block["metrics"]} == {
        "qs_cpuTotal",
        "qs_engineCalls",
        "qs_engineSelections",
        "qs_engineSessionsActive",
        "qs_engineSessionsTotal",
        "qs_engineUsersActive",
        "qs_engineUsersTotal",
        "qs_engineSaturated",
    }
    assert items(scheduler_log_event(level="WARN")) == []
    assert items(scheduler_log_event(source="proxy")) == []
    assert len(items(scheduler_log_event(level="error"))) == 1
    assert len(items(scheduler_log_event(level="FATAL", source="engine"))) == 0
    user_items = items(user_event(app_id="", app_name=""))
    assert [u["qs_userFull"] for u in user_items] == ["ACME\\jdoe", "ACME\\jdoe"]  # prod and ops
    assert "qs_appId" not in user_items[0]
    assert [unpack(r)[1] for r in sink.encode(user_event())] == ["prod", "ops"]

    nothing = make_sink(
        make_config(
            "http://nr.invalid",
            metric_groups=dict.fromkeys(
                (
                    "memory",
                    "cpu",
                    "calls",
                    "selections",
                    "sessions",
                    "users",
                    "saturated",
                    "doc_count",
                    "cache",
                ),
                False,
            ),
        ),
        tmp_path,
    )
    assert list(nothing.encode(health(server()))) == []


def test_routing_decides_the_kinds_and_unknown_accounts_are_refused(tmp_path: Path) -> None:
    assert build(Runtime(Config(), Router(), tmp_path)) == []
    only_logs = make_sink(make_config("http://nr.invalid", routing={"log_events": ["prod"]}), tmp_path)
    assert only_logs.kinds == {"log"}
    with pytest.raises(StartupError, match=r"new_relic\.routing\.health names no account"):
        build(Runtime(make_config("http://nr.invalid", routing={}, events=["health"]), Router(), tmp_path))
    with pytest.raises(ValidationError, match=r"'staging'.*accounts are: prod, ops"):
        make_config("http://nr.invalid", routing={"health": ["staging"]})


def test_bodies_stay_under_the_size_limit() -> None:
    item = b'{"x":"' + b"a" * 1000 + b'"}'
    chunks = bodies([item] * 2500)
    assert len(chunks) == 3
    assert all(len(chunk) <= MAX_BODY_BYTES for chunk in chunks)
    assert sum(chunk.count(b'{"x"') for chunk in chunks) == 2500
    assert bodies([]) == []


# -- reload alerts: Butler's incident events and logs -------------------------------------------------

ALERT_ACCOUNTS = [
    {"name": "prod", "account_id": 111, "insert_api_key": "NRAK-PROD-KEY"},
    {"name": "ops", "account_id": "222", "insert_api_key": "NRAK-OPS-KEY"},
]
#: butler.md §8.6: the qs_* attributes of a reload event (and of a log's common attributes)
BUTLER_EVENT_ATTRIBUTES = {
    "qs_hostName",
    "qs_user",
    "qs_taskName",
    "qs_taskId",
    "qs_appName",
    "qs_appId",
    "qs_logTimeStamp",
    "qs_logLevel",
    "qs_executionId",
    "qs_logMessage",
}
BUTLER_LOG_ATTRIBUTES = {
    "logtype",
    "qs_executingNodeName",
    "qs_executionStartTime",
    "qs_executionStopTime",
    "qs_executionDuration",
    "qs_executionStatusNum",
    "qs_exeuctionStatusText",
    "qs_scriptLogSize",
    "qs_scriptLogTailCount",
}


def alerts_section(url: str, kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A ``new_relic`` section for alert tests: the alert accounts, ``kind`` (``reload_alerts``,
    ``service_alerts``, ``license_alerts``) set to ``settings``."""
    return {
        "enable": True,
        "accounts": ALERT_ACCOUNTS,
        "event_url": url,
        "log_url": f"{url}/log/v1",
        "static_attributes": {"qs_env": "dev"},
        "delivery": FAST_DELIVERY,
        kind: settings,
    }


def alert_config(url: str, **reload_alerts: Any) -> Config:
    return Config.model_validate(
        {
            "alerts": {"enable": True, "time_zone": "UTC"},
            "new_relic": alerts_section(url, "reload_alerts", reload_alerts),
        }
    )


async def started_sink(config: Config, state_dir: Path) -> tuple[NewRelicSink, Runtime]:
    runtime = Runtime(config, Router(), state_dir)
    (sink,) = build(runtime)
    assert isinstance(sink, NewRelicSink)
    for service in runtime.services:
        await service.start()
    await sink.start()
    return sink, runtime


async def stop_all(sink: NewRelicSink, runtime: Runtime) -> None:
    await sink.stop()
    for service in reversed(runtime.services):
        await service.stop()


def failed_reload(task_id: str = TASK_ID, **custom: str) -> ReloadAlert:
    made = alert()
    assert made.task is not None
    task = dataclasses.replace(
        made.task, custom_properties=tuple(NameValue(name, value) for name, value in custom.items())
    )
    return msgspec.structs.replace(
        made,
        time_ns=T0_NS,
        task=task,
        source=msgspec.structs.replace(made.source, task_id=task_id),
    )


async def test_reload_alerts_reach_the_accounts_named_always_and_by_the_tasks_custom_property(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    http_receiver.respond("/log/v1", 202)
    config = alert_config(
        http_receiver.url,
        reload_failed={
            "event": {"accounts": ["prod"], "by_custom_property": True, "attributes": {"kind": "event"}},
            "log": {"by_custom_property": True, "tail_lines": 3},
            "attributes": {"service": "butler"},
        },
    )
    sink, runtime = await started_sink(config, tmp_path)
    sink.submit(
        failed_reload(
            Butler_FailedTask_Event_NewRelicAccount="ops",
            Butler_FailedTask_Log_NewRelicAccount="ghost",  # not configured: counted, not sent
        )
    )
    # the same task again: its event is rate-limited (both accounts); its first log goes to ops
    sink.submit(
        failed_reload(
            Butler_FailedTask_Event_NewRelicAccount="ops", Butler_FailedTask_Log_NewRelicAccount="ops"
        )
    )
    sink.submit(failed_reload("other-task", Butler_FailedTask_Log_NewRelicAccount="prod"))
    stats = sink.stats()
    await async_wait_until(
        lambda: stats.delivered + sum(stats.dropped.values()) >= 8, 10, f"all items ({stats})"
    )
    await stop_all(sink, runtime)
    assert stats.delivered == 5
    assert stats.dropped == {"unknown_account": 1, "rate_limited": 2}

    items: dict[tuple[str, str], list[Any]] = {}
    for (path, key), bodies_of in by_key(http_receiver.requests).items():
        items[(path, key)] = [item for body in bodies_of for item in body]
    task_ids = {
        where: sorted(item.get("qs_taskId") or item["common"]["attributes"]["qs_taskId"] for item in found)
        for where, found in items.items()
    }
    assert task_ids == {
        ("/v1/accounts/111/events", "NRAK-PROD-KEY"): sorted([TASK_ID, "other-task"]),
        ("/v1/accounts/222/events", "NRAK-OPS-KEY"): [TASK_ID],
        ("/log/v1", "NRAK-OPS-KEY"): [TASK_ID],
        ("/log/v1", "NRAK-PROD-KEY"): ["other-task"],
    }
    (event,) = items[("/v1/accounts/222/events", "NRAK-OPS-KEY")]
    assert event["eventType"] == "qs_reloadTaskFailedEvent"
    assert event["timestamp"] == T0_MS
    assert set(event) >= BUTLER_EVENT_ATTRIBUTES
    assert event["qs_hostName"] == "QLIKSERVER1"
    assert event["qs_user"] == "LAB/goran"
    assert event["qs_taskId"] == TASK_ID
    assert event["qs_executionId"] == EXECUTION_ID
    assert event["qs_logMessage"] == "Max retries reached"
    assert event["qs_taskTag_Nightly"] == "true"
    assert event["qs_appTag_Sales"] == "true"
    assert (event["qs_env"], event["service"], event["kind"]) == ("dev", "butler", "event")
    assert "version" in event

    (block,) = items[("/log/v1", "NRAK-PROD-KEY")]
    attributes = block["common"]["attributes"]
    assert set(attributes) >= BUTLER_EVENT_ATTRIBUTES | BUTLER_LOG_ATTRIBUTES
    assert attributes["logtype"] == "qs_reloadTaskFailedLog"
    assert attributes["qs_exeuctionStatusText"] == "FinishedFail"
    assert attributes["qs_executionStatusNum"] == 8
    assert attributes["qs_executionDuration"] == {"hours": 1, "minutes": 2, "seconds": 8}
    assert attributes["qs_executionStartTime"]["startTimeUTC"] == "2024-01-05T10:20:03.112Z"
    assert attributes["qs_scriptLogTailCount"] == 3
    assert attributes["service"] == "butler"
    assert "kind" not in attributes  # the event's own static attribute
    (entry,) = block["logs"]
    assert entry["timestamp"] == T0_MS
    assert entry["message"] == (
        "2024-01-05T10:20:03.020Z\tChanging task state to Triggered\n"
        "2024-01-05T11:22:11.123Z\tChanging task state from Started to FinishedFail\n"
        "\r\n-------------------------------\r\n\r\n"
        "20240105T102003.038+0100 line 38\r\n20240105T102003.039+0100 line 39\r\n"
        "20240105T102003.040+0100 line 40"
    )


async def test_a_reload_alert_with_nothing_to_route_is_not_sent_and_aborted_uses_its_own_names(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    config = alert_config(
        http_receiver.url,
        reload_aborted={"event": {"accounts": ["ops"]}, "rate_limit_s": 0},
    )
    sink, runtime = await started_sink(config, tmp_path)
    assert sink.kinds == {"reload_alert"}
    aborted = msgspec.structs.replace(
        failed_reload(), outcome="aborted", script_log=None, missing=("script log",)
    )
    sink.submit(failed_reload())  # reload_failed is off
    sink.submit(aborted)
    sink.submit(aborted)  # no rate limit
    requests = await http_receiver.wait_for(1, "/v1/accounts/222/events")
    await async_wait_until(lambda: sink.stats().delivered == 2, 5, "both aborted events")
    await stop_all(sink, runtime)
    events = [item for request in http_receiver.requests for item in request.json()]
    assert [event["eventType"] for event in events] == ["qs_reloadTaskAbortedEvent"] * 2
    assert events[0]["qs_missing"] == "script log unavailable"
    assert requests[0].headers["api-key"] == "NRAK-OPS-KEY"


def test_reload_alert_accounts_must_be_configured(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"reload_alerts.reload_failed.event.accounts: 'nobody'"):
        alert_config("http://127.0.0.1:9", reload_failed={"event": {"accounts": ["nobody"]}})
