"""Building InfluxDB sinks for tests the way the app does (``build(runtime)``), with fast delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensebutler.config import Config
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime
from sensebutler.sinks.influxdb.config import InfluxDbSection
from sensebutler.sinks.influxdb.sink import InfluxSink, build
from tests.fixtures.net import async_wait_until

#: test events are from 2024: a finite retention policy would refuse them
KEEP_FOREVER = {"name": "forever", "duration": "INF"}


def fast_delivery(**overrides: Any) -> DeliveryConfig:
    settings: dict[str, Any] = {
        "batch_size": 8,  # one health sample
        "flush_interval_s": 0.02,
        "send_timeout_s": 3.0,
        "shutdown_timeout_s": 3.0,
        "retry": {"initial_s": 0.02, "max_s": 0.1, "attempts_before_spool": 2},
    }
    settings.update(overrides)
    return DeliveryConfig.model_validate(settings)


def section(url: str, version: int = 1, **settings: Any) -> InfluxDbSection:
    """Enabled sink settings for ``version``; ``v1`` settings keep points forever unless told otherwise."""
    if "v1" in settings:
        settings["v1"] = {"retention_policy": KEEP_FOREVER, **settings["v1"]}
    defaults: dict[int, dict[str, Any]] = {
        1: {"v1": {"database": "sensebutler_test", "retention_policy": KEEP_FOREVER}},
        2: {"v2": {"org": "acme", "bucket": "senseops", "token": "v2-secret-token"}},
        3: {"v3": {"database": "senseops", "token": "v3-secret-token"}},
    }
    return InfluxDbSection.model_validate(
        {"enable": True, "url": url, "version": version, **defaults[version], **settings}
    )


def sink(
    tmp_path: Path,
    config: InfluxDbSection,
    delivery: DeliveryConfig | None = None,
    *,
    log_event_tags: dict[str, str] | None = None,
    user_event_tags: dict[str, str] | None = None,
    app_names: bool = True,
) -> InfluxSink:
    """The sink ``build`` makes for a configuration with this ``influxdb:`` section."""
    whole = Config.model_validate(
        {
            "udp": {
                "log_events": {"tags": log_event_tags or {}},
                "user_events": {"tags": user_event_tags or {}},
            },
            "delivery": (delivery or fast_delivery()).model_dump(),
            "polling": {"app_names": {"enable": app_names}},
        }
    ).model_copy(update={"influxdb": config})
    (built,) = build(Runtime(whole, Router(), tmp_path / "state"))
    assert isinstance(built, InfluxSink)
    return built


async def wait_delivered(influx: InfluxSink, count: int, timeout: float = 10.0) -> None:
    """Until ``count`` records are delivered; fails at once when records are dropped instead."""
    stats = influx.stats()
    await async_wait_until(
        lambda: stats.delivered + sum(stats.dropped.values()) >= count,
        timeout,
        f"{count} delivered ({stats})",
    )
    assert not stats.dropped, f"records dropped: {stats}"
