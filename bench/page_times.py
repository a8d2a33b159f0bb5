"""Times every dashboard page (``web/dashboard/queries.py``) over a reader, for each range of the
picker: ``bench/store.py`` runs it over the embedded store, ``bench/dashboard_influx.py`` over
InfluxDB, so their rows compare. Wall and CPU time (the reader's thread) per page, and for the
searchable pages a search that matches nothing (``<page>_miss``: it reads every entry of the range)."""

from __future__ import annotations

import statistics
import time

from sensebutler.sinks.store.storage import NS
from sensebutler.web.dashboard.queries import PAGES
from sensebutler.web.dashboard.reader import Reader

RANGES_S = (15 * 60, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600)
#: the pages whose queries use the search box
SEARCHED = ("logs", "reloads", "services")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def page_times(reader: Reader, until: int, repeat: int) -> dict[str, dict[str, float]]:
    """Page → p50, p99 and max milliseconds and p99 CPU milliseconds over ``repeat`` rounds of every
    range ending ``until``."""
    runs = [(name, page, "message 1") for name, (_, page) in PAGES.items()]
    runs += [(f"{name}_miss", PAGES[name][1], "no such text") for name in SEARCHED]
    pages = {}
    for name, page, search in runs:
        times, cpu_times = [], []
        for _ in range(repeat):
            for span in RANGES_S:
                began, cpu = time.perf_counter(), time.thread_time()
                page(reader, until - span * NS, until, search)
                times.append((time.perf_counter() - began) * 1000)
                cpu_times.append((time.thread_time() - cpu) * 1000)
        pages[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": round(p99(times), 1),
            "max_ms": round(max(times), 1),
            "p99_cpu_ms": round(p99(cpu_times), 1),
        }
    return pages
