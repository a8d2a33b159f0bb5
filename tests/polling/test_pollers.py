"""The pollers built from config, polling the simulator over real mutual-TLS sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from sensebutler.config import Config
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.events.polled import HealthSample, PollFailed, ProxySessions, SelfMetrics
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Component, Runtime, StartupError
from sensebutler.simulator import Simulator
from sensebutler.simulator.timefmt import compact_local
from sensebutler.sinks.base import DeliverySink, Sink
from sensebutler.sources.polling import AppNames, PollScheduler, SelfMetricsSource, build
from tests.polling.support import Collector, config_for

ONCE = {"interval_s": 3600, "jitter_s": 0}  # a poll at startup and no other during a test
TAGS = (("site", "lab"), ("central", True))  # the central node's; the others have central False


@asynccontextmanager
async def running(
    config: Config, *sinks: Sink, tmp_path: Path, app_names: AppNames | None = None
) -> AsyncIterator[list[Component]]:
    runtime = Runtime(config=config, router=Router(sinks), state_dir=tmp_path)
    if app_names is not None:
        runtime.app_names = app_names
    components = build(runtime)
    for component in components:
        await component.start()
    try:
        yield components
    finally:
        for component in reversed(components):
            await component.stop()


def scheduler_of(components: Iterable[Component]) -> PollScheduler:
    return next(c for c in components if isinstance(c, PollScheduler))


async def test_health_sample_holds_the_engine_values(simulator: Simulator, tmp_path: Path) -> None:
    central = simulator.model.central
    user = next(iter(simulator.model.users.values()))
    session = simulator.sessions.start(central, user)
    app = next(iter(simulator.model.apps.values()))
    simulator.sessions.open_connection(session, app)
    engine = central.engine
    engine.cpu_override = 42.5
    collector = Collector()
    config = config_for(simulator.info, polling={"health": {"enable": True, **ONCE}})
    async with running(config, collector, tmp_path=tmp_path):
        await collector.wait_for(lambda: len(collector.of(HealthSample)) == 3, "one sample per node")
    samples = {s.server.name: s for s in collector.of(HealthSample)}
    assert set(samples) == {node.name for node in simulator.model.nodes}
    sample = samples[central.name]
    # nothing but our poll advanced the engine, so its state now is what it answered
    assert sample.version == engine.version
    assert sample.started == compact_local(engine.started)
    assert sample.mem_committed == pytest.approx(engine.committed_mb())
    assert sample.mem_allocated == pytest.approx(engine.committed_mb() * 1.23)
    assert sample.cpu_total == 42.5
    assert (sample.session_total, sample.users_total) == (1, 1)
    assert sample.loaded_docs == (app.id,)
    assert set(sample.in_memory_docs) == {*engine.in_memory, *engine.session_apps}
    assert (sample.calls, sample.selections) == (engine.calls, engine.selections)
    assert (sample.cache_hits, sample.cache_lookups, sample.cache_added) == (
        engine.cache_hits,
        engine.cache_lookups,
        engine.cache_added,
    )
    assert (sample.cache_replaced, sample.cache_bytes_added) == (
        engine.cache_replaced,
        engine.cache_bytes_added,
    )
    assert sample.saturated is False
    assert sample.server.host == "localhost"
    assert sample.server.tags == TAGS
    assert sample.poll_ms > 0
    assert sample.app_names == {}  # app-name polling is off


async def test_without_client_certificate_every_poll_fails_with_tls_error(
    simulator: Simulator, tmp_path: Path
) -> None:
    collector = Collector()
    certificates = {"ca": str(simulator.info.certificates.root)}
    config = config_for(
        simulator.info, polling={"health": {"enable": True, **ONCE}}, certificates=certificates
    )
    async with running(config, collector, tmp_path=tmp_path) as components:
        await collector.wait_for(lambda: len(collector.of(PollFailed)) == 3, "three failures")
        counters = scheduler_of(components).counters()
    assert not collector.of(HealthSample)
    failed = collector.of(PollFailed)
    assert {f.category for f in failed} == {"tls_error"}
    assert {f.server.name for f in failed} == {node.name for node in simulator.model.nodes}
    assert all(
        f.server.tags == (("site", "lab"), ("central", f.server.name == simulator.model.central.name))
        for f in failed
    )
    assert all(f.target == "health" for f in failed)
    node = simulator.info.nodes[0]
    assert any(f.url == f"https://localhost:{node.engine_port}/engine/healthcheck" for f in failed)
    assert any(f.address == f"localhost:{node.engine_port}" for f in failed)  # Butler SOS's host tag
    assert {(f.error_code, f.timeout_ms) for f in failed} == {("ECONNRESET", 5000)}
    assert all(counters[f"health:{n.name}"].failures == 1 for n in simulator.model.nodes)


async def test_slow_server_times_out_while_the_others_keep_their_schedule(
    simulator: Simulator, tmp_path: Path
) -> None:
    slow, *others = [node.name for node in simulator.model.nodes]
    simulator.faults.set_slow(slow, "engine", 30.0)
    collector = Collector()
    # a timeout four intervals long: polling one server after the other would hold every server back
    health = {"enable": True, "interval_s": 0.5, "timeout_s": 2.0, "jitter_s": 0.2}
    config = config_for(simulator.info, polling={"health": health})
    async with running(config, collector, tmp_path=tmp_path) as components:
        await collector.wait_for(
            lambda: len(collector.of(PollFailed)) >= 2, "two timeouts of the slow server"
        )
        samples = collector.of(HealthSample)
        counters = scheduler_of(components).counters()
    failures = collector.of(PollFailed)
    assert {(f.server.name, f.category) for f in failures} == {(slow, "timeout")}
    assert counters[f"health:{slow}"].failures == len(failures)
    assert counters[f"health:{slow}"].skipped_overlap >= 2  # ticks that found the last poll still running
    assert counters[f"health:{slow}"].max_ms >= 2000
    # ≥ 4 s passed: each healthy server was polled about every 0.5 s meanwhile, not once per timeout
    for name in others:
        assert sum(1 for s in samples if s.server.name == name) >= 2 * len(failures) + 1
        assert counters[f"health:{name}"].failures == 0


async def test_passphrase_protected_key(simulator: Simulator, tmp_path: Path) -> None:
    paths = simulator.info.certificates
    certificates = {
        "client_cert": str(paths.client),
        "client_key": str(paths.client_key_encrypted),
        "passphrase": paths.client_key_passphrase,
        "ca": str(paths.root),
    }
    collector = Collector()
    config = config_for(
        simulator.info, polling={"health": {"enable": True, **ONCE}}, certificates=certificates
    )
    async with running(config, collector, tmp_path=tmp_path):
        await collector.wait_for(lambda: len(collector.of(HealthSample)) == 3, "one sample per node")


def test_bad_certificate_path_is_a_startup_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "certs" / "client.pem"
    config = Config.model_validate(
        {
            "qlik": {"certificates": {"client_cert": str(missing)}, "servers": [{"name": "a", "host": "a"}]},
            "polling": {"health": {"enable": True}},
        }
    )
    with pytest.raises(StartupError, match=f"qlik.certificates.client_cert: cannot read '{missing}'"):
        build(Runtime(config=config, router=Router(), state_dir=tmp_path))


def test_nothing_enabled_builds_nothing(tmp_path: Path) -> None:
    config = Config.model_validate({"self_metrics": {"enable": False}})
    assert build(Runtime(config=config, router=Router(), state_dir=tmp_path)) == []


def test_app_names_need_a_qrs_host(tmp_path: Path) -> None:
    config = Config.model_validate({"polling": {"app_names": {"enable": True}}})
    with pytest.raises(StartupError, match=r"qlik\.qrs\.host is empty"):
        build(Runtime(config=config, router=Router(), state_dir=tmp_path))


async def test_sessions_per_virtual_proxy_with_excluded_users_flagged(
    simulator: Simulator, tmp_path: Path
) -> None:
    central = simulator.model.central
    users = list(simulator.model.users.values())[:3]
    on_root = [simulator.sessions.start(central, users[0]), simulator.sessions.start(central, users[1])]
    on_hdr = [simulator.sessions.start(central, users[1], virtual_proxy="hdr")]
    excluded = users[1]
    sessions: dict[str, Any] = {
        "enable": True,
        **ONCE,
        # case differs from the user's own: Windows names are case-insensitive
        "exclude_users": [{"directory": excluded.directory.lower(), "user_id": excluded.user_id.upper()}],
    }
    collector = Collector()
    config = config_for(simulator.info, polling={"sessions": sessions})
    expected_lists = sum(len(node.virtual_proxies) for node in simulator.model.nodes)
    async with running(config, collector, tmp_path=tmp_path):
        await collector.wait_for(
            lambda: len(collector.of(ProxySessions)) == expected_lists, "every session list"
        )
    by_proxy = {(e.server.name, e.virtual_proxy): e for e in collector.of(ProxySessions)}
    root, hdr = by_proxy[(central.name, "/")], by_proxy[(central.name, "/hdr")]
    node = simulator.info.node(central.name)
    assert root.proxy_host == hdr.proxy_host == f"localhost:{node.proxy_port}"
    assert root.server.tags == TAGS
    assert {(s.session_id, s.user_full, s.excluded) for s in root.sessions} == {
        (on_root[0].id, users[0].key, False),
        (on_root[1].id, excluded.key, True),
    }
    assert [(s.session_id, s.excluded) for s in hdr.sessions] == [(on_hdr[0].id, True)]
    assert root.unique_users == [s.user_full for s in root.sessions]
    others = [e for (name, _), e in by_proxy.items() if name != central.name]
    assert others and all(e.sessions == () for e in others)


async def test_app_names_map_ids_to_names_and_keep_session_apps_apart(
    simulator: Simulator, tmp_path: Path
) -> None:
    names = AppNames()
    collector = Collector()
    polling = {
        "app_names": {"enable": True, "interval_s": 3600},
        # health polls after the first app-name refresh has landed
        "health": {"enable": True, "interval_s": 0.5, "jitter_s": 0},
    }
    config = config_for(simulator.info, polling=polling)
    async with running(config, collector, tmp_path=tmp_path, app_names=names):
        await collector.wait_for(lambda: names.refreshes == 1, "the first app-name refresh")
        first = len(collector.of(HealthSample))
        await collector.wait_for(
            lambda: len(collector.of(HealthSample)) > first + 3, "samples after the refresh"
        )
    assert len(names) == len(simulator.model.apps)
    for app in simulator.model.apps.values():
        assert names.name(app.id) == app.name
        assert names.name(app.id.upper()) == app.name
    sample = collector.of(HealthSample)[-1]
    session_apps = [d for d in sample.in_memory_docs if d.startswith("SessionApp_")]
    assert session_apps, "the simulator keeps session apps in memory"
    assert set(sample.app_names) == {d for d in sample.in_memory_docs if not d.startswith("SessionApp_")}
    assert all(sample.app_names[d] == simulator.model.apps[d].name for d in sample.app_names)


async def test_failed_app_name_refresh_keeps_the_last_good_map(simulator: Simulator, tmp_path: Path) -> None:
    names = AppNames()
    names.replace({"00000000-0000-0000-0000-000000000001": "Kept"})
    simulator.faults.set_failing(simulator.model.central.name, "qrs", 500)
    collector = Collector()
    config = config_for(simulator.info, polling={"app_names": {"enable": True, "interval_s": 3600}})
    async with running(config, collector, tmp_path=tmp_path, app_names=names):
        await collector.wait_for(lambda: bool(collector.of(PollFailed)), "the failed refresh")
    failed = collector.of(PollFailed)[0]
    assert (failed.target, failed.category, failed.http_status) == ("app_names", "http_5xx", 500)
    assert (
        failed.server.name == simulator.model.central.name
    )  # the configured server whose host is qlik.qrs.host
    assert names.name("00000000-0000-0000-0000-000000000001") == "Kept"
    assert len(names) == 1


class Accepting:
    """A destination that takes every batch (the delivery counters are what the test reads)."""

    name = "accepting"
    max_in_flight = 1

    async def open(self) -> None:
        return None

    async def send(self, batch: list[bytes]) -> None:
        return None

    async def close(self) -> None:
        return None


class CountingSink(DeliverySink):
    def __init__(self) -> None:
        delivery = DeliveryConfig(batch_size=1, flush_interval_s=0.05)
        super().__init__("counting", ["health"], Accepting(), delivery, None)

    def encode(self, event: Any) -> Iterable[bytes]:
        return [b"point"]


async def test_self_metrics_report_process_sinks_and_polls(simulator: Simulator, tmp_path: Path) -> None:
    collector = Collector(kinds=["self"])
    counting = CountingSink()
    await counting.start()
    config = config_for(
        simulator.info,
        polling={"health": {"enable": True, "interval_s": 0.5, "jitter_s": 0}},
        self_metrics={"enable": True, "interval_s": 1},
    )
    try:
        async with running(config, collector, counting, tmp_path=tmp_path) as components:
            assert any(isinstance(c, SelfMetricsSource) for c in components)
            await collector.wait_for(
                lambda: any(m.sinks["counting"].delivered > 0 for m in collector.of(SelfMetrics)),
                "self metrics after a delivery",
            )
    finally:
        await counting.stop()
    metrics = collector.of(SelfMetrics)[-1]
    assert metrics.rss_bytes > 10_000_000
    assert metrics.uptime_s > 0
    assert metrics.cpu_pct >= 0
    assert metrics.version and metrics.instance
    assert set(metrics.sinks) == {"counting"}  # the collector has no delivery counters
    assert set(metrics.polls) == {f"health:{node.name}" for node in simulator.model.nodes}
    assert all(p.polls >= 1 and p.failures == 0 for p in metrics.polls.values())
