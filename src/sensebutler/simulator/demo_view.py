"""What the monitoring service collected, as a table on the console (``sensebutler demo``).

A sink like any other: the router hands it the kinds it shows, and it keeps the latest health sample
per server, session counts per virtual proxy, and counts of log, user and task events. ``table()``
renders it with what every other sink did (delivered, spooled, dropped; events taken by a pull sink)
and the sinks the demo can switch on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rich.table import Table

from sensebutler.events import Event
from sensebutler.events.polled import HealthSample, PollFailed, ProxySessions
from sensebutler.events.udp import LogEvent, QixPerfEvent, TaskEvent, UserEvent
from sensebutler.pipeline.router import Router
from sensebutler.sinks.base import Sink

KINDS = ("health", "sessions", "poll_failed", "log", "qix_perf", "user", "task")


class DemoView(Sink):
    name = "console"
    kinds = frozenset(KINDS)

    def __init__(self, announce: Callable[[str], None] | None = None) -> None:
        #: told of each failed or aborted reload as sensebutler receives it
        self.announce = announce
        self.health: dict[str, HealthSample] = {}
        self.sessions: dict[tuple[str, str], int] = {}
        self.failures: Counter[str] = Counter()
        self.log_events: Counter[tuple[str, str]] = Counter()
        self.qix_perf = 0
        self.user_events: Counter[str] = Counter()
        self.tasks: Counter[str] = Counter()
        self.last_task = ""

    def submit(self, event: Event) -> None:
        if isinstance(event, HealthSample):
            self.health[event.server.name] = event
        elif isinstance(event, ProxySessions):
            self.sessions[(event.server.name, event.virtual_proxy)] = len(event.sessions)
        elif isinstance(event, PollFailed):
            self.failures[f"{event.server.name} {event.target}: {event.category}"] += 1
        elif isinstance(event, LogEvent):
            self.log_events[(event.source, event.level)] += 1
        elif isinstance(event, QixPerfEvent):
            self.qix_perf += 1
        elif isinstance(event, UserEvent):
            self.user_events[event.command] += 1
        elif isinstance(event, TaskEvent):
            self.tasks[event.event_type] += 1
            self.last_task = f"{event.event_type}: {event.task_name}"
            if self.announce is not None and event.event_type in ("failed", "aborted"):
                self.announce(f"received a task event: reload {event.event_type}, {event.task_name!r}")

    def table(self, router: Router) -> Table:
        table = Table(
            title="sensebutler: what it collected and what its sinks did",
            title_justify="left",
            show_lines=False,
        )
        table.add_column("what", style="bold")
        table.add_column("value", overflow="fold")
        for name, sample in sorted(self.health.items()):
            sessions = sum(n for (server, _), n in self.sessions.items() if server == name)
            table.add_row(
                f"engine {name}",
                f"v{sample.version}, cpu {sample.cpu_total:.0f} %, {sample.mem_committed:.0f} MB committed, "
                f"{sample.session_active}/{sample.session_total} sessions, "
                f"{sample.users_active} active users, "
                f"{len(sample.loaded_docs)} apps loaded, proxy sessions {sessions}"
                + (", SATURATED" if sample.saturated else ""),
            )
        for failure, count in sorted(self.failures.items()):
            table.add_row("poll failed", f"{failure} ×{count}")
        logs = ", ".join(f"{source} {level} {n}" for (source, level), n in sorted(self.log_events.items()))
        table.add_row("log events", logs or "-")
        table.add_row("QIX performance events", str(self.qix_perf))
        table.add_row(
            "user events", ", ".join(f"{c} {n}" for c, n in sorted(self.user_events.items())) or "-"
        )
        tasks = ", ".join(f"{t} {n}" for t, n in sorted(self.tasks.items()))
        table.add_row("reload task events", f"{tasks} (last {self.last_task})" if tasks else "-")
        for sink in router.sinks:
            if sink is not self:
                table.add_row(f"sink {sink.name}", sink_summary(sink, router))
        names = {sink.name for sink in router.sinks}
        for name, how in OFF_SINKS.items():
            if name not in names:
                table.add_row(f"sink {name}", f"off ({how})")
        return table


#: sinks the demo can add, and how
OFF_SINKS = {"influxdb": "sensebutler demo --influxdb-url http://127.0.0.1:8086 writes to an InfluxDB 1.x"}


def sink_summary(sink: Sink, router: Router) -> str:
    """What one sink did: push sinks end every record in delivered, spooled or dropped; a pull sink
    (Prometheus) only keeps the latest values for the next scrape."""
    stats = sink.stats()
    if stats is None:
        taken = sum(router.published[kind] for kind in sink.kinds)
        port = getattr(sink, "port", None)
        where = f", served at http://127.0.0.1:{port}/metrics" if port else ""
        return f"pull: {taken} events taken{where} (nothing to deliver, spool or drop)"
    dropped = sum(stats.dropped.values())
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(stats.dropped.items()) if n)
    text = (
        f"{stats.delivered} delivered, {stats.spooled} spooled ({stats.spool_records} waiting in the "
        f"spool), {dropped} dropped" + (f" ({reasons})" if reasons else "")
    )
    if stats.queued:
        text += f", {stats.queued} queued"
    return text + (f"; last error: {stats.last_error}" if stats.last_error else "")
