"""``prometheus:`` — ``/metrics`` on the web server."""

from __future__ import annotations

from pydantic import Field

from sensebutler.config.base import FeatureSection


class PrometheusSection(FeatureSection):
    """``GET /metrics`` for Prometheus to scrape (pull: no delivery queue, no spool)."""

    #: the ``web.listeners`` entry serving ``path`` (Butler SOS scrapers expect port 9842: give
    #: Prometheus its own listener there, see config/example.yaml)
    listener: str = "main"
    path: str = Field(default="/metrics", pattern=r"^/[^\s]*$")
    events: list[str] = []
    #: a server's series disappear when no sample came for this long; 0 = 3 × its polling interval
    stale_after_s: float = Field(default=0, ge=0)
    #: distinct ``host`` label values of the UDP event counters (datagrams name the host; more are
    #: summed under ``host="_other"``, so forged host names cannot grow the series without bound)
    max_udp_hosts: int = Field(default=1000, ge=1, le=100_000)
