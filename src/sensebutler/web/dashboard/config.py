"""``dashboard:`` — the built-in dashboard (reads the store, else the InfluxDB sink's database;
needs an API key in ``api.keys``)."""

from __future__ import annotations

from pydantic import Field

from sensebutler.config.base import FeatureSection


class DashboardSection(FeatureSection):
    enable: bool = True
    #: the web listener (``web.listeners``) serving it
    listener: str = "main"
    #: seconds between live updates of an open page
    update_interval_s: float = Field(default=5.0, ge=0.5, le=600)
