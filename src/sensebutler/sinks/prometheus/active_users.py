"""Active users as gauges, read from ``runtime.active_users`` at scrape time (always current)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from sensebutler.services.active_users import ActiveUsers


class ActiveUserMetrics:
    def __init__(self, active: ActiveUsers) -> None:
        self.active = active

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "sensebutler_active_users", "Users with a proxy session, all proxies", value=self.active.count()
        )
        per_proxy = GaugeMetricFamily(
            "sensebutler_active_users_per_proxy", "Users with a session on one proxy", labels=["proxy_host"]
        )
        for host, users in sorted(self.active.per_host().items()):
            per_proxy.add_metric([host], len(users))
        yield per_proxy
