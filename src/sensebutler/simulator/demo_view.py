"""What the monitoring service collected, as a table on the console (``sensebutler demo``).

A sink like any other: the router hands it every kind, and it keeps the latest health sample per
server, session counts per virtual proxy, and counts of log, user and task events. ``table()``
renders it with the delivery counters of the other sinks.
"""

from __future__ import annotations

from collections import Counter

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

    def __init__(self) -> None:
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

    def table(self, router: Router) -> Table:
        table = Table(title="What sensebutler collected", title_justify="left", show_lines=False)
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
            stats = sink.stats()
            if stats is not None:
                dropped = sum(stats.dropped.values())
                table.add_row(
                    f"sink {sink.name}",
                    f"{stats.delivered} delivered, {stats.spool_records} spooled, {dropped} dropped"
                    + (f" (last error: {stats.last_error})" if stats.last_error else ""),
                )
        return table
