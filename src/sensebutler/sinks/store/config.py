"""``store:`` — the embedded time-series store the built-in dashboard reads (on by default)."""

from __future__ import annotations

from pydantic import Field

from sensebutler.config.sinks import SinkSection


class StoreSection(SinkSection):
    """Raw values for ``raw_hours``, 1-minute rollups for ``minute_days``, 1-hour rollups for
    ``hour_days``; the file stays under ``max_mb`` (oldest raw values and messages go first)."""

    enable: bool = True
    #: the SQLite file; default ``<state.dir>/store.sqlite``
    file: str = ""
    raw_hours: float = Field(default=48.0, gt=0, le=24 * 31)
    minute_days: float = Field(default=30.0, gt=0, le=366)
    hour_days: float = Field(default=365.0, gt=0, le=3660)
    max_mb: float = Field(default=1024.0, ge=1)
    #: how often retention and the size bound are applied
    maintenance_interval_s: float = Field(default=60.0, gt=0, le=3600)
