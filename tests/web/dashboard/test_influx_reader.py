"""The dashboard with the store off reads InfluxDB: events go through the running service's own
InfluxDB sink into a real influxd, and every page is read back through ``/dashboard/data``."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import orjson
import pytest

from sensebutler.api.config import ApiSection
from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.sinks.influxdb.sink import InfluxSink
from sensebutler.web.dashboard.access import DashboardAccess
from sensebutler.web.dashboard.app import NO_SOURCE, Dashboard, build, influx_source
from sensebutler.web.dashboard.influx_reader import InfluxPages
from sensebutler.web.dashboard.queries import PAGES
from tests.alerts.samples import alert
from tests.fixtures.net import LOOPBACK, free_tcp_port
from tests.fixtures.servers import InfluxdServer
from tests.fixtures.service import eventually, running
from tests.sinks.influxdb.events import (
    engine_log_event,
    poll_failed,
    proxy_log_event,
    qix_perf_event,
    self_metrics,
)
from tests.sinks.influxdb.support import section
from tests.sinks.output_events import health, scheduler_log_event, server, sessions, user_event

KEY = "k" * 32
HEADERS = {"X-API-Key": KEY}
CENTRAL, RIM = server("central", "qs-central"), server("rim", "qs-rim")


def events(now: int) -> list[Event]:
    """A few minutes of a small site, ending ``now``."""
    ago = [now - s * 1_000_000_000 for s in (240, 120, 60, 30)]
    made: list[Event] = []
    for i, t in enumerate(ago):
        made.append(health(CENTRAL, time_ns=t, mem_allocated=1000.0 + i, cpu_total=10 + i, saturated=i == 3))
        made.append(health(RIM, time_ns=t + 1, mem_allocated=500.0, cpu_total=50, saturated=False))
    for ref, proxy in ((CENTRAL, "/"), (RIM, "/"), (CENTRAL, "/hdr")):
        made.append(msgspec.structs.replace(sessions(ref, proxy, count=2), time_ns=ago[-1]))
    made += [
        engine_log_event(time_ns=ago[0], message="Document was not saved: disk full"),
        proxy_log_event(time_ns=ago[1], message="Authentication failed for ACME\\jdoe"),
        scheduler_log_event(time_ns=ago[2]),
        qix_perf_event(time_ns=ago[1], process_time=900.5),
        qix_perf_event(time_ns=ago[2], process_time=100.0),
        qix_perf_event(time_ns=ago[2], method="Doc::GetField", object_type="", process_time=5.0),
        user_event(time_ns=ago[1]),
        user_event("Start session", time_ns=ago[2]),
        poll_failed(CENTRAL, time_ns=ago[2], message="no answer within 5 s"),
        self_metrics(time_ns=ago[3]),
    ]
    failed = alert()
    made.append(
        msgspec.structs.replace(
            failed, time_ns=ago[2], source=msgspec.structs.replace(failed.source, time_ns=ago[2])
        )
    )
    made.append(
        msgspec.structs.replace(
            alert(outcome="success"),
            time_ns=ago[3],
            source=msgspec.structs.replace(failed.source, time_ns=ago[3], event_type="success"),
        )
    )
    return made


def config(tmp_path: Path, influx: dict[str, Any], **more: Any) -> Config:
    return Config.model_validate(
        {
            "state": {"dir": str(tmp_path / "state")},
            "store": {"enable": False},
            "influxdb": {"enable": True, "delivery": {"flush_interval_s": 0.05}, **influx},
            "alerts": {"enable": True},
            "api": {"keys": [{"name": "ops", "key": KEY}]},
            "web": {"listeners": {"main": {"port": 0, "host": LOOPBACK}}},
            **more,
        }
    )


def chart(page: dict[str, Any], title: str) -> dict[str, list[list[float]]]:
    found: dict[str, list[list[float]]] = next(c for c in page["charts"] if c["title"] == title)["series"]
    return found


async def test_every_page_reads_what_the_influxdb_sink_wrote(
    influxd: InfluxdServer, influx_db: str, tmp_path: Path
) -> None:
    # a retention policy that is not the database's default: the pages must read where the sink writes
    policy = f'CREATE RETENTION POLICY "kept" ON "{influx_db}" DURATION INF REPLICATION 1'
    httpx.post(f"{influxd.url}/query", data={"q": policy}, trust_env=False).raise_for_status()
    influx = {
        "url": influxd.url,
        "v1": {"database": influx_db, "retention_policy": {"name": "kept", "duration": "INF"}},
        "tasks": {"reload_success": {"all_tasks": True}},
    }
    async with running(config(tmp_path, influx)) as runtime:
        (sink,) = runtime.router.sinks
        assert isinstance(sink, InfluxSink)
        made = events(time.time_ns())
        for event in made:
            runtime.router.publish(event)
        stats = sink.stats()
        await eventually(
            lambda: stats.delivered + sum(stats.dropped.values()) >= stats.received, what="written"
        )
        assert not stats.dropped
        base = f"http://{LOOPBACK}:{runtime.web.port()}/dashboard"
        async with httpx.AsyncClient(base_url=base, headers=HEADERS, trust_env=False, timeout=30) as client:
            pages = {}
            for name in PAGES:
                answer = await client.get(f"/data/{name}", params={"range": "15m"})
                assert answer.status_code == 200, (name, answer.text)
                pages[name] = answer.json()
                assert pages[name]["source"] == "influxdb"
                assert (await client.get(f"/{name}")).status_code == 200
            found = await client.get("/data/logs", params={"range": "15m", "q": "DISK full"})
            searched = found.json()["latest"]
            async with client.stream("GET", "/live/reloads", params={"range": "15m"}) as live:
                first = await anext(line async for line in live.aiter_lines() if line.startswith("data: "))
            assert orjson.loads(first[6:])["failures"][0]["name"] == "Reload of Sales"

    assert influxd.query(influx_db, "SELECT * FROM mem") == []  # not in the default policy
    site = pages["site"]
    memory = chart(site, "Memory allocated")
    assert sorted(memory) == ["central", "rim"]
    assert [v for _, v in memory["central"]] == [1000, 1001, 1002, 1003]  # v1 writes MB as integers
    assert site["nodes"] == {"central": 13.0, "rim": 50.0}
    assert [v for _, v in chart(site, "Saturated")["central"]] == [0, 0, 0, 1]
    assert [v for _, v in chart(site, "Saturated")["rim"]] == [0, 0, 0, 0]
    assert {round(v) for _, v in chart(site, "Cache hit ratio")["central"]} == {82}

    users = pages["users"]
    assert dict(map(tuple, users["now"])) == {"/": 4, "/hdr": 2}  # summed over both nodes
    assert chart(users, "Proxy sessions per virtual proxy")["/"][-1][1] == 4
    events_chart = chart(users, "Session and connection events")
    assert sorted(events_chart) == ["Open connection", "Start session"]
    assert users["top_apps"] == [["Operations Dashboard", 2]]
    assert users["browsers"] == [["Chrome", 2]] and users["os"] == [["Windows", 2]]

    logs = pages["logs"]
    by_level = {
        label: sum(v for _, v in points)
        for label, points in chart(logs, "Errors and warnings by level").items()
    }
    assert by_level == {"ERROR": 2, "WARN": 1}
    assert sorted(chart(logs, "By service")) == ["qseow-engine", "qseow-proxy", "qseow-scheduler"]
    assert ["reload-failed", 1] in logs["categories"]
    messages = [entry["detail"] for entry in logs["latest"]]
    assert messages[0].startswith("Message from ReloadProvider")  # newest first
    assert (
        "Document was not saved: disk full" in messages and "Authentication failed for ACME\\jdoe" in messages
    )
    assert [entry["detail"] for entry in searched] == ["Document was not saved: disk full"]
    assert logs["slowest"][0] == ["barchart / Doc::GetObject", 2, 900.5]
    assert ["- / Doc::GetField", 1, 5.0] in logs["busiest"]

    reloads = pages["reloads"]
    assert {label: len(points) for label, points in chart(reloads, "Task results").items()} == {
        "failed": 1,
        "success": 1,
    }
    assert chart(reloads, "Reload durations (success)")["Reload of Sales"][0][1] == 3728.0
    (failure,) = reloads["failures"]
    assert failure["name"] == "Reload of Sales" and failure["level"] == "failed"
    assert "line 40" in failure["detail"]  # the script log's tail
    assert [e["level"] for e in reloads["recent"]] == ["success", "failed"]
    assert reloads["failed_tasks"][0]["extra"]["task_id"] == failed_task_id()
    assert reloads["unavailable"]

    (poll,) = pages["services"]["poll_failures"]
    assert poll["level"] == "timeout" and poll["detail"] == "no answer within 5 s"
    pipeline = pages["pipeline"]
    assert pipeline["store"]["measurements"] > 5 and "bytes" not in pipeline["store"]
    assert any(c["title"] == "Sink delivered" and c["series"] for c in pipeline["charts"])
    assert pipeline["unavailable"]


def failed_task_id() -> str:
    return alert().source.task_id


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("where", ["closed", "silent"])
async def test_unreachable_or_silent_influxdb_gives_an_error_and_a_count(
    where: str, silent_port: int, tmp_path: Path
) -> None:
    port = free_tcp_port() if where == "closed" else silent_port
    settings = section(f"http://{LOOPBACK}:{port}", timeout_s=0.5)
    source, pages = influx_source(settings)
    api = ApiSection.model_validate({"keys": [{"name": "ops", "key": KEY}]})
    dashboard = Dashboard(source, DashboardAccess(api), 1.0)
    transport = httpx.ASGITransport(app=dashboard.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=HEADERS) as client:
        for _ in range(2):
            answer = await client.get("/data/site")
            assert answer.status_code == 503
            category = "unreachable" if where == "closed" else "timeout"
            assert answer.json()["category"] == category and "InfluxDB at" in answer.json()["error"]
        assert (await client.get("/site")).status_code == 200  # the page shell still loads
    assert dashboard.read_failures == {category: 2}
    await pages.stop()


async def test_the_source_is_the_store_else_influxdb_else_a_message(tmp_path: Path) -> None:
    keys = {"api": {"keys": [{"name": "ops", "key": KEY}]}}

    def built(**sections: Any) -> tuple[list[Any], Runtime]:
        runtime = Runtime(Config.model_validate(keys | sections), Router(), tmp_path)
        return build(runtime), runtime

    components, _ = built(influxdb={"enable": True, "url": "http://127.0.0.1:9"})
    assert len(components) == 1 and isinstance(components[0], InfluxPages)
    components, runtime = built(store={"enable": False})
    assert components == []
    (mount,) = runtime.web.mounts["main"]
    transport = httpx.ASGITransport(app=mount.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=HEADERS) as client:
        page = await client.get("/site")
        data = await client.get("/data/site")
    assert page.status_code == 503 and "store.enable" in page.text
    assert data.status_code == 503 and data.json()["error"].startswith(NO_SOURCE)
