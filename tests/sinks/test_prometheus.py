from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sensebutler.config import Config
from sensebutler.events import Event
from sensebutler.events.ingest import EventCount, RejectedEventCount, UdpQueueMetrics
from sensebutler.events.polled import PollCounters, PollFailed, SelfMetrics, ServerRef
from sensebutler.pipeline.delivery import DeliveryStats
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import Sink
from sensebutler.sinks.prometheus.labels import label_name
from sensebutler.sinks.prometheus.sink import PrometheusExporter, build
from sensebutler.sources.polling.servers import server_ref
from sensebutler.web import server as web
from tests.fixtures.servers import PrometheusFactory
from tests.sinks.output_events import health, sessions

CENTRAL = {"name": "central", "host": "qs-central", "description": "central node"}
RIM1 = {"name": "rim1", "host": "qs-rim1", "description": "rim1 node"}
SERVERS = [
    {**CENTRAL, "tags": {"env": "prod", "site-code": 7}, "virtual_proxies": ["/", "/hdr"]},
    {**RIM1, "tags": {"env": "test", "site-code": 8}},
]

Samples = dict[str, list[tuple[dict[str, str], float]]]


def make_config(servers: list[dict[str, Any]] = SERVERS, **prometheus: Any) -> Config:
    return Config.model_validate(
        {
            "qlik": {"server_tags": ["env", "site-code"], "servers": servers},
            "polling": {"health": {"interval_s": 30}, "sessions": {"interval_s": 10}},
            "prometheus": {"enable": True, **prometheus},
            "web": {"listeners": {"main": {"port": 0}}},
        }
    )


def refs(config: Config) -> dict[str, ServerRef]:
    return {s.name: server_ref(s) for s in config.qlik.servers}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingSink(Sink):
    """A delivering sink as the router sees it: a name and its delivery counters."""

    def __init__(self, name: str, stats: DeliveryStats) -> None:
        self.name = name
        self.kinds = frozenset({"health"})
        self._stats = stats

    def submit(self, event: Event) -> None:
        pass

    def stats(self) -> DeliveryStats:
        return self._stats


@pytest.fixture
async def exporter(tmp_path: Path) -> AsyncIterator[PrometheusExporter]:
    runtime = Runtime(make_config(), Router(), tmp_path)
    (sink,) = build(runtime)
    assert isinstance(sink, PrometheusExporter)
    runtime.router.add(sink)
    (server,) = web.build(runtime)
    await server.start()
    yield sink
    await server.stop()


async def scrape(sink: PrometheusExporter, path: str = "/metrics") -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.get(f"http://127.0.0.1:{sink.port}{path}")


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def rendered(sink: PrometheusExporter) -> Samples:
    """What a scrape would return, without HTTP (for the tests that drive a fake clock)."""
    return parse(generate_latest(sink.registry).decode())


async def test_real_prometheus_scrapes_gauges_with_labels_and_drops_a_removed_server(
    exporter: PrometheusExporter, prometheus_factory: PrometheusFactory
) -> None:
    by_name = refs(exporter.runtime.config)
    exporter.runtime.router.publish(health(by_name["central"]))
    exporter.runtime.router.publish(health(by_name["rim1"], saturated=True, mem_committed=1.5))
    exporter.runtime.router.publish(sessions(by_name["central"], "/hdr", count=3))
    prometheus = prometheus_factory([f"127.0.0.1:{exporter.port}"])

    (committed,) = await prometheus.wait_for_series('butlersos_mem_committed{server_name="central"}')
    assert committed["metric"] == {
        "__name__": "butlersos_mem_committed",
        "host": "qs-central",
        "server_name": "central",
        "server_description": "central node",
        "env": "prod",
        "site_code": "7",
        "instance": f"127.0.0.1:{exporter.port}",
        "job": "sensebutler-test",
    }
    assert float(committed["value"][1]) == 10240.5 * 1024 * 1024
    (rim_committed,) = await prometheus.query('butlersos_mem_committed{server_name="rim1"}')
    assert float(rim_committed["value"][1]) == 1.5 * 1024 * 1024
    (saturated,) = await prometheus.query('butlersos_cache_saturated{server_name="rim1"}')
    assert saturated["value"][1] == "1"
    (metadata,) = await prometheus.query('butlersos_engine_metadata{server_name="central"}')
    assert metadata["metric"]["engine_version"] == "14.173.8"
    assert metadata["metric"]["engine_started"] == "20240110T030001.000+0100"
    (docs,) = await prometheus.query('butlersos_apps_inmemorydocs_total{server_name="central"}')
    assert docs["value"][1] == "5"
    (session_total,) = await prometheus.query("butlersos_user_session_total")
    assert session_total["metric"]["user_session_virtual_proxy"] == "/hdr"
    assert session_total["metric"]["user_session_host"] == "qs-central:4243"
    assert session_total["metric"]["env"] == "prod"
    assert session_total["value"][1] == "3"
    assert await prometheus.query("process_resident_memory_bytes")
    (health_events,) = await prometheus.query('sensebutler_events_published_total{kind="health"}')
    assert health_events["value"][1] == "2"
    assert await prometheus.query('sensebutler_polls_total{server_name="rim1",target="health",result="ok"}')

    # rim1 leaves the configuration: its series are gone from the next scrape and from Prometheus
    exporter.runtime.config = make_config(servers=SERVERS[:1])
    text = (await scrape(exporter)).text
    assert 'server_name="central"' in text
    assert 'server_name="rim1"' not in text
    await prometheus.wait_for_series('absent(butlersos_mem_committed{server_name="rim1"})')
    assert await prometheus.query('butlersos_mem_committed{server_name="central"}')


async def test_every_butler_sos_gauge_has_the_sample_value(exporter: PrometheusExporter) -> None:
    exporter.submit(health(refs(exporter.runtime.config)["central"]))
    found = parse((await scrape(exporter)).text)
    values = {name: points[0][1] for name, points in found.items() if name.startswith("butlersos_")}
    assert values == {
        "butlersos_apps_calls": 1520334,
        "butlersos_apps_selections": 88120,
        "butlersos_apps_activedocs_total": 2,
        "butlersos_apps_loadeddocs_total": 3,
        "butlersos_apps_inmemorydocs_total": 5,
        "butlersos_cache_added": 2100,
        "butlersos_cache_bytes_added": 884736,
        "butlersos_cache_hits": 9911,
        "butlersos_cache_lookups": 12040,
        "butlersos_cache_replaced": 310,
        "butlersos_cache_saturated": 0,
        "butlersos_cpu_total": 12,
        "butlersos_mem_committed": 10240.5 * 1048576,
        "butlersos_mem_allocated": 12288.25 * 1048576,
        "butlersos_mem_free": 20480 * 1048576,
        "butlersos_session_active": 4,
        "butlersos_session_total": 17,
        "butlersos_users_active": 3,
        "butlersos_users_total": 11,
        "butlersos_engine_metadata": 1,
    }
    assert "bytes" in (await scrape(exporter)).text.split("# HELP butlersos_mem_free")[1].split("\n")[0]


async def test_other_paths_are_not_found(exporter: PrometheusExporter) -> None:
    response = await scrape(exporter, "/")
    assert response.status_code == 404
    assert "/metrics" in response.text


def test_a_server_without_samples_for_three_intervals_disappears(tmp_path: Path) -> None:
    clock = Clock()
    runtime = Runtime(make_config(), Router(), tmp_path)
    sink = PrometheusExporter(runtime, runtime.config.prometheus, clock)
    by_name = refs(runtime.config)
    sink.submit(health(by_name["central"]))
    sink.submit(sessions(by_name["central"], "/"))
    clock.now += 25
    sink.submit(health(by_name["rim1"]))
    clock.now += 10  # sessions (10 s interval) are 35 s old: more than 3 intervals
    found = rendered(sink)
    assert {labels["server_name"] for labels, _ in found["butlersos_cpu_total"]} == {"central", "rim1"}
    assert "butlersos_user_session_total" not in found
    clock.now += 56  # central's health sample is 91 s old (> 3 × 30 s); rim1's 66 s
    found = rendered(sink)
    assert [labels["server_name"] for labels, _ in found["butlersos_cpu_total"]] == ["rim1"]


def test_configured_staleness_and_virtual_proxy_removal(tmp_path: Path) -> None:
    clock = Clock()
    runtime = Runtime(make_config(stale_after_s=5), Router(), tmp_path)
    sink = PrometheusExporter(runtime, runtime.config.prometheus, clock)
    central = refs(runtime.config)["central"]
    sink.submit(sessions(central, "/"))
    sink.submit(sessions(central, "/hdr"))
    found = rendered(sink)
    proxies = {labels["user_session_virtual_proxy"] for labels, _ in found["butlersos_user_session_total"]}
    assert proxies == {"/", "/hdr"}
    servers = [dict(SERVERS[0], virtual_proxies=["/"]), SERVERS[1]]
    runtime.config = make_config(servers=servers, stale_after_s=5)
    found = rendered(sink)
    assert [labels["user_session_virtual_proxy"] for labels, _ in found["butlersos_user_session_total"]] == [
        "/"
    ]
    clock.now += 6
    assert "butlersos_user_session_total" not in rendered(sink)


def test_pipeline_poll_and_poller_counters(tmp_path: Path) -> None:
    runtime = Runtime(make_config(), Router(), tmp_path)
    stats = DeliveryStats(
        received=10, delivered=7, retried=2, spooled=3, queued=1, spool_records=2, spool_bytes=99
    )
    stats.dropped["rejected"] = 4
    runtime.router.add(CountingSink("influxdb", stats))
    sink = PrometheusExporter(runtime, runtime.config.prometheus)
    runtime.router.add(sink)
    central = refs(runtime.config)["central"]
    runtime.router.publish(health(central, poll_ms=250.0))
    failed = PollFailed(
        server=central, target="health", category="timeout", message="slow", duration_ms=5000.0
    )
    runtime.router.publish(failed)
    runtime.router.publish(failed)
    runtime.router.publish(
        SelfMetrics(
            version="0.1.0",
            instance="host",
            uptime_s=5,
            rss_bytes=1,
            cpu_pct=0,
            polls={"health": PollCounters(polls=9, failures=2, skipped_overlap=1, last_ms=3, max_ms=4)},
        )
    )
    stats.delivered = 9  # read at scrape time: always current
    found = rendered(sink)

    def value(name: str, **labels: str) -> float:
        (match,) = [v for found_labels, v in found[name] if labels.items() <= found_labels.items()]
        return match

    assert value("sensebutler_sink_delivered_total", sink="influxdb") == 9
    assert value("sensebutler_sink_received_total", sink="influxdb") == 10
    assert value("sensebutler_sink_retried_total", sink="influxdb") == 2
    assert value("sensebutler_sink_spooled_total", sink="influxdb") == 3
    assert value("sensebutler_sink_dropped_total", sink="influxdb", reason="rejected") == 4
    assert value("sensebutler_sink_queued", sink="influxdb") == 1
    assert value("sensebutler_sink_spool_records", sink="influxdb") == 2
    assert value("sensebutler_sink_spool_bytes", sink="influxdb") == 99
    assert value("sensebutler_polls_total", server_name="central", result="ok") == 1
    assert value("sensebutler_polls_total", server_name="central", result="timeout") == 2
    assert value("sensebutler_poll_duration_seconds", server_name="central", target="health") == 5.0
    assert value("sensebutler_poller_skipped_overlap_total", poller="health") == 1
    assert value("sensebutler_poller_failures_total", poller="health") == 2
    assert value("sensebutler_events_published_total", kind="poll_failed") == 2
    assert found["sensebutler_build_info"][0][0]["version"]

    runtime.config = make_config(servers=SERVERS[1:])
    assert "sensebutler_polls_total" not in rendered(sink)


def test_disabled_builds_nothing_and_colliding_tags_are_refused(tmp_path: Path) -> None:
    assert build(Runtime(Config(), Router(), tmp_path)) == []
    servers = [{**CENTRAL, "tags": {"site-code": 1, "site code": 2}}]
    config = Config.model_validate(
        {
            "qlik": {"server_tags": ["site-code", "site code"], "servers": servers},
            "prometheus": {"enable": True},
        }
    )
    with pytest.raises(StartupError, match="both become label 'site_code'"):
        build(Runtime(config, Router(), tmp_path))
    with pytest.raises(StartupError, match="events lists log"):
        build(Runtime(make_config(events=["log"]), Router(), tmp_path))


@pytest.mark.parametrize(
    ("tag", "label"),
    [("env", "env"), ("site-code", "site_code"), ("1st", "_1st"), ("__x", "tag_x"), ("", "_")],
)
def test_tag_names_become_valid_label_names(tag: str, label: str) -> None:
    assert label_name(tag) == label


def test_udp_reports_are_summed_into_counters(tmp_path: Path) -> None:
    runtime = Runtime(make_config(), Router(), tmp_path)
    sink = PrometheusExporter(runtime, runtime.config.prometheus)
    runtime.router.add(sink)
    for queue_size, received, dropped in ((7, 100, 3), (2, 50, 1)):
        runtime.router.publish(
            UdpQueueMetrics(
                queue_type="log_events",
                host="box",
                queue_size=queue_size,
                queue_max_size=1000,
                messages_received=received,
                messages_queued=received - dropped,
                messages_processed=received - dropped,
                messages_failed=0,
                dropped={"rate_limited": dropped},
                malformed={"bad_source": 1},
                kernel_drops=2,
                processing_time_p95_ms=1.5,
            )
        )
    runtime.router.publish(
        EventCount(event_type="log", source="qseow-engine", host="QS1", subsystem="x", counter=4)
    )
    runtime.router.publish(
        EventCount(event_type="log", source="qseow-engine", host="QS1", subsystem="y", counter=5)
    )
    runtime.router.publish(
        RejectedEventCount(
            source="qseow-qix-perf",
            app_id="a",
            app_name="",
            method="m",
            object_type="o",
            counter=3,
            process_time=250.0,
        )
    )
    found = {
        (name, tuple(sorted(labels.items()))): value
        for name, points in rendered(sink).items()
        for labels, value in points
    }
    log_events = (("queue_type", "log_events"),)
    assert found[("sensebutler_udp_received_total", log_events)] == 150
    assert found[("sensebutler_udp_queued_total", log_events)] == 146
    assert found[("sensebutler_udp_kernel_drops_total", log_events)] == 4
    assert (
        found[("sensebutler_udp_dropped_total", (("queue_type", "log_events"), ("reason", "rate_limited")))]
        == 4
    )
    assert (
        found[("sensebutler_udp_malformed_total", (("queue_type", "log_events"), ("reason", "bad_source")))]
        == 2
    )
    assert found[("sensebutler_udp_queue_size", log_events)] == 2  # the latest report
    assert found[("sensebutler_udp_processing_time_p95_seconds", log_events)] == 0.0015
    events_key = (("event_type", "log"), ("host", "QS1"), ("source", "qseow-engine"))
    assert found[("sensebutler_udp_events_total", events_key)] == 9
    assert found[("sensebutler_qix_perf_rejected_total", ())] == 3
    assert found[("sensebutler_qix_perf_rejected_process_seconds_total", ())] == 0.25


def test_forged_host_names_cannot_grow_the_series_without_bound(tmp_path: Path) -> None:
    runtime = Runtime(make_config(max_udp_hosts=3), Router(), tmp_path)
    sink = PrometheusExporter(runtime, runtime.config.prometheus)
    runtime.router.add(sink)
    for n in range(10):
        runtime.router.publish(
            EventCount(event_type="log", source="qseow-engine", host=f"forged-{n}", subsystem="x", counter=2)
        )
    found = rendered(sink)
    hosts = sorted(labels["host"] for labels, _ in found["sensebutler_udp_events_total"])
    assert hosts == ["_other", "forged-0", "forged-1", "forged-2"]
    other = [value for labels, value in found["sensebutler_udp_events_total"] if labels["host"] == "_other"]
    assert other == [14] and found["sensebutler_udp_hosts_over_limit_total"] == [({}, 14)]
