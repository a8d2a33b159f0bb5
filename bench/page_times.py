"""Times every dashboard page (``web/dashboard/queries.py``) over a reader, for each range of the
picker: ``bench/store.py`` runs it over the embedded store, ``bench/dashboard_influx.py`` over
InfluxDB, so their rows compare."""

from __future__ import annotations

import statistics
import time

from sensebutler.sinks.store.storage import NS
from sensebutler.web.dashboard.queries import PAGES
from sensebutler.web.dashboard.reader import Reader

RANGES_S = (15 * 60, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600)


def page_times(reader: Reader, until: int, repeat: int) -> dict[str, dict[str, float]]:
    """Page → p50, p99 and max milliseconds over ``repeat`` rounds of every range ending ``until``."""
    pages = {}
    for name, (_, page) in PAGES.items():
        times = []
        for _ in range(repeat):
            for span in RANGES_S:
                began = time.perf_counter()
                page(reader, until - span * NS, until, "message 1")
                times.append((time.perf_counter() - began) * 1000)
        times.sort()
        pages[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
            "max_ms": round(times[-1], 1),
        }
    return pages
