"""The three UDP inputs: parse each datagram, apply policy, publish the event.

* log events (9996): source on/off switches, categorisation (``drop`` really drops), QIX performance
  filters with rejected-event counts, app names;
* user events (9997): excluded users, app names, the per-host set of active users;
* task events (9998): published for the reload-alert processor (``processors/reload_alerts.py``),
  which de-duplicates them by execution id on the shared state backend.

Malformed datagrams are counted by reason and logged (rate-limited, with a safe preview).
Counters go to :class:`~sensebutler.sources.udp.listener.IngestStats`; :class:`IngestMetrics`
turns them into periodic events.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from sensebutler.config.udp import LogEventsInput, TaskEventsInput, UdpInputSection, UserEventsInput
from sensebutler.events import Event, settle
from sensebutler.events.udp import LogEvent, QixPerfEvent, UserEvent
from sensebutler.hotpath import parse_log_datagram
from sensebutler.logs import RateLimitedLog
from sensebutler.runtime import Runtime
from sensebutler.sources.udp.categorise import Categoriser
from sensebutler.sources.udp.listener import READ_DELAY_MAX_S, READ_DELAY_S, IngestStats, UdpListener
from sensebutler.sources.udp.malformed import MalformedDatagram
from sensebutler.sources.udp.parse_task import parse_task_datagram
from sensebutler.sources.udp.parse_user import parse_user_datagram
from sensebutler.sources.udp.qix_filter import QixPerfFilter

log = logging.getLogger(__name__)

#: a user event's ``appName`` when the app is not (yet) in the app list, as Butler SOS writes it
UNKNOWN_APP_NAME = "<unknown app name>"

#: (event_type, source, host, subsystem) → count since the last report
EventCounts = Counter[tuple[str, str, str, str]]
#: (app_id, app_name, method, object_type) → [count, summed process time]
RejectedCounts = dict[tuple[str, str, str, str], list[float]]
#: what a batch's event counts are grouped by (the rest of the key is the same for all of them)
_HOST_SUBSYSTEM: Callable[[Any], tuple[str, str]] = attrgetter("host", "subsystem")
_SOURCE_HOST_SUBSYSTEM: Callable[[Any], tuple[str, str, str]] = attrgetter("source", "host", "subsystem")


class InputHandler(ABC):
    """Parses one kind of datagram and decides what becomes of it."""

    #: ``event_type`` of the :class:`~sensebutler.events.ingest.EventCount` rows it produces
    event_type = ""
    #: the shortest (busy) and longest (a trickle) the listener waits for a batch to gather
    min_gather_s = READ_DELAY_S
    max_gather_s = READ_DELAY_MAX_S

    def __init__(self, name: str, runtime: Runtime) -> None:
        self.name = name
        self.runtime = runtime
        self.stats = IngestStats()
        self.event_counts: EventCounts = Counter()
        self._publish_many: Callable[[list[Event]], None] = runtime.router.publish_many
        self._malformed_log = RateLimitedLog(log, 60.0)
        self._failed_log = RateLimitedLog(log, 60.0)

    def __call__(self, datagrams: list[bytes], received_ns: int) -> None:
        """Parse and admit a batch of datagrams, then publish its events in one call."""
        events: list[Event] = []
        stats = self.stats
        parse, accept = self.parse, self.accept
        for data in datagrams:
            try:
                event = parse(data, received_ns)
                accepted = accept(event)
                stats.processed += 1
                if accepted:
                    events.append(event)
            except MalformedDatagram as bad:
                self._malformed(bad)
            except Exception:  # a bug must never stop the input; the datagram is counted
                stats.failed += 1
                self._failed_log.log(
                    logging.ERROR, "handler", "%s: failed to handle a datagram", self.name, exc_info=True
                )
        if not events:
            return
        try:
            self._publish_many(events)
        except Exception:  # a consumer broke its promise not to raise
            self._publish_failed(len(events))
            return
        stats.published += len(events)

    def _publish_failed(self, count: int) -> None:
        """Events a consumer raised on count as failed, not processed (logged with the traceback)."""
        self.stats.processed -= count
        self.stats.failed += count
        self._failed_log.log(
            logging.ERROR, "publish", "%s: failed to publish %d event(s)", self.name, count, exc_info=True
        )

    def _malformed(self, bad: MalformedDatagram) -> None:
        self.stats.malformed[bad.reason.value] += 1
        if bad.reason == "unknown_type":
            self.event_counts[(self.event_type, "Unknown", "", "")] += 1
        self._malformed_log.log(
            logging.WARNING,
            bad.reason.value,
            "%s: malformed datagram (%s%s): %r",
            self.name,
            bad.reason.value,
            f", {bad.detail}" if bad.detail else "",
            bad.preview,
        )

    @abstractmethod
    def parse(self, data: bytes, received_ns: int) -> Event:
        """The event in ``data``, or :class:`MalformedDatagram`."""

    def accept(self, event: Event) -> bool:
        """Apply policy; False = deliberately not published (the reason is counted)."""
        return True

    def drop(self, reason: str) -> bool:
        self.stats.dropped[reason] += 1
        return False


class LogEventsHandler(InputHandler):
    """Log and QIX performance events. A batch is parsed, split by kind, admitted per kind and
    published per kind (:meth:`Router.publish_kind`). Where the policy cannot tell one event from
    another (a source switched off, filters that keep every QIX event, categorisation off, no app
    names known) it is applied to the whole list at once; otherwise event by event (:meth:`accept`)."""

    event_type = "log"

    def __init__(self, runtime: Runtime, settings: LogEventsInput) -> None:
        super().__init__("log events", runtime)
        self.sources = settings.sources
        self.categoriser = Categoriser(settings.categorise)
        monitor = settings.engine_performance_monitor
        self.qix_filter = QixPerfFilter(monitor)
        self.qix_monitor = monitor.enable
        self.qix_app_names = monitor.app_name_lookup.enable
        self.track_rejected = monitor.enable and monitor.track_rejected_events.enable
        self.rejected: RejectedCounts = {}
        self.qix_categories = self.categoriser.qix_categories
        self._publish_kind: Callable[[str, list[Event]], None] = runtime.router.publish_kind
        #: every log source on and no categorisation: a log event needs only its app name
        self._logs_plain = (
            all(getattr(self.sources, source) for source in ("engine", "proxy", "repository", "scheduler"))
            and not self.categoriser.enabled
        )
        #: every QIX event is kept as it is (no app-name lookup, no filter that rejects anything)
        self._qix_plain = (
            self.sources.qix_perf
            and self.qix_monitor
            and self.qix_filter.accepts_all
            and not self.qix_app_names
        )

    def parse(self, data: bytes, received_ns: int) -> Event:
        return parse_log_datagram(data, received_ns, self.qix_categories)

    def __call__(self, datagrams: list[bytes], received_ns: int) -> None:
        """Parse a batch, admit each kind's events and publish them, in the order the kinds came."""
        parse, qix_categories = parse_log_datagram, self.qix_categories
        logs: list[LogEvent] = []
        qix: list[QixPerfEvent] = []
        is_qix: list[bool] = []  # each parsed event's kind, in order: the first published goes first
        for data in datagrams:
            try:
                event = parse(data, received_ns, qix_categories)
            except MalformedDatagram as bad:
                self._malformed(bad)
                continue
            except Exception:  # a bug must never stop the input; the datagram is counted
                self._failed_one()
                continue
            if type(event) is QixPerfEvent:
                qix.append(event)
                is_qix.append(True)
            else:
                logs.append(event)  # type: ignore[arg-type]
                is_qix.append(False)
        published_logs = self._admit_logs(logs) if logs else []
        published_qix = self._admit_qix(qix) if qix else []
        order = [("log", published_logs), ("qix_perf", published_qix)]
        if published_qix and (
            not published_logs or _qix_first(is_qix, logs, qix, published_logs, published_qix)
        ):
            order.reverse()
        for kind, events in order:
            if events:
                self._publish(kind, events)

    def _publish(self, kind: str, events: list[Event]) -> None:
        try:
            self._publish_kind(kind, events)
        except Exception:  # a consumer broke its promise not to raise
            self._publish_failed(len(events))
            return
        self.stats.published += len(events)

    def _failed_one(self) -> None:
        self.stats.failed += 1
        self._failed_log.log(
            logging.ERROR, "handler", "%s: failed to handle a datagram", self.name, exc_info=True
        )

    def _one_by_one(self, events: list[Event]) -> list[Event]:
        """:meth:`accept` for each event; the accepted ones, each counted."""
        stats = self.stats
        accept = self.accept
        accepted: list[Event] = []
        for event in events:
            try:
                keep = accept(event)
            except Exception:
                self._failed_one()
                continue
            stats.processed += 1
            if keep:
                accepted.append(event)
        return accepted

    def _admit_qix(self, events: list[QixPerfEvent]) -> list[Event]:
        if not self._qix_plain:
            if self.sources.qix_perf and self.qix_monitor:
                return self._one_by_one(events)  # type: ignore[arg-type]
            # switched off: each counted as received, dropped (as accept() does, for all at once)
            self._count("qseow-qix-perf", _HOST_SUBSYSTEM, events)
            self.stats.processed += len(events)
            self._drop_many("source_disabled" if not self.sources.qix_perf else "qix_filtered", len(events))
            return []
        self._count("qseow-qix-perf", _HOST_SUBSYSTEM, events)
        self.stats.processed += len(events)
        return events  # type: ignore[return-value]

    def _admit_logs(self, events: list[LogEvent]) -> list[Event]:
        if not self._logs_plain:
            return self._one_by_one(events)  # type: ignore[arg-type]
        self._count("", _SOURCE_HOST_SUBSYSTEM, events)
        names = self.runtime.app_names
        if len(names):  # app names are known: fill them in (as accept() does)
            name_of = names.name
            for event in events:
                if event.app_id and not event.app_name:
                    app_name = name_of(event.app_id)
                    if app_name:
                        settle(event, app_name=app_name)
        self.stats.processed += len(events)
        return events  # type: ignore[return-value]

    def _count(
        self,
        source: str,
        key: Callable[[Any], tuple[str, ...]],
        events: list[QixPerfEvent] | list[LogEvent],
    ) -> None:
        """Add ``events`` to the event counts (``source`` empty: the key's first part is the source)."""
        counts = self.event_counts
        for parts, count in Counter(map(key, events)).items():
            if source:
                counts[("log", source, parts[0], parts[1])] += count
            else:
                counts[("log", f"qseow-{parts[0]}", parts[1], parts[2])] += count

    def _drop_many(self, reason: str, count: int) -> None:
        self.stats.dropped[reason] += count

    def accept(self, event: Event) -> bool:
        """The policy for one event (the batch applies it to whole lists where it can)."""
        if isinstance(event, QixPerfEvent):
            counted = ("log", "qseow-qix-perf", event.host, event.subsystem)
            if not self.sources.qix_perf or not self.qix_monitor:
                self.event_counts[counted] += 1
                return self.drop("source_disabled" if not self.sources.qix_perf else "qix_filtered")
            if self.qix_app_names and event.app_id:
                app_name = self.runtime.app_names.name(event.app_id)
                if app_name:  # an app not (yet) named keeps the empty name
                    settle(event, app_name=app_name)
            if not self.qix_filter.accepts(event):
                # not in event_count: Butler SOS counts only the QIX events its filters keep
                if self.track_rejected:
                    key = (event.app_id, event.app_name, event.method, event.object_type)
                    entry = self.rejected.setdefault(key, [0, 0.0])
                    entry[0] += 1
                    entry[1] += max(event.process_time, 0.0)
                return self.drop("qix_filtered")
            self.event_counts[counted] += 1
            return True
        assert isinstance(event, LogEvent)
        self.event_counts[("log", f"qseow-{event.source}", event.host, event.subsystem)] += 1
        if not getattr(self.sources, event.source):
            return self.drop("source_disabled")
        if not self.categoriser.apply(event):
            return self.drop("categorised_drop")
        if event.app_id and not event.app_name:
            app_name = self.runtime.app_names.name(event.app_id)
            if app_name:
                settle(event, app_name=app_name)
        return True


def _qix_first(
    is_qix: list[bool],
    logs: list[LogEvent],
    qix: list[QixPerfEvent],
    published_logs: list[Event],
    published_qix: list[Event],
) -> bool:
    """Whether the first published QIX event came before the first published log event."""
    first_log = next(n for n, event in enumerate(logs) if event is published_logs[0])
    first_qix = next(n for n, event in enumerate(qix) if event is published_qix[0])
    seen_logs = seen_qix = 0
    for this_is_qix in is_qix:
        if this_is_qix:
            if seen_qix == first_qix:
                return True
            seen_qix += 1
        else:
            if seen_logs == first_log:
                return False
            seen_logs += 1
    raise AssertionError("published events that were not parsed")


class UserEventsHandler(InputHandler):
    event_type = "user"

    def __init__(self, runtime: Runtime, settings: UserEventsInput) -> None:
        super().__init__("user events", runtime)
        self.excluded = {(u.directory.lower(), u.user_id.lower()) for u in settings.exclude_users}
        self.active = runtime.active_users

    def parse(self, data: bytes, received_ns: int) -> Event:
        return parse_user_datagram(data, received_ns)

    def accept(self, event: Event) -> bool:
        assert isinstance(event, UserEvent)
        self.event_counts[("user", event.message_type, event.host, event.origin)] += 1
        if event.command == "Start session":
            self.active.session_started(event.host, event.user_full)
        elif event.command == "Stop session":
            self.active.session_stopped(event.host, event.user_full)
        else:
            self.active.touch(event.host, event.user_full)
        if (event.user_directory.lower(), event.user_id.lower()) in self.excluded:
            return self.drop("excluded_user")
        if event.app_id:
            settle(event, app_name=self.runtime.app_names.name(event.app_id) or UNKNOWN_APP_NAME)
        return True


class TaskEventsHandler(InputHandler):
    """Parses task datagrams; the reload-alert processor dedupes and handles them."""

    event_type = "task"
    #: task events are few and may become alerts: read each one at once
    min_gather_s = max_gather_s = 0.0

    def __init__(self, runtime: Runtime, settings: TaskEventsInput) -> None:
        super().__init__("task events", runtime)

    def parse(self, data: bytes, received_ns: int) -> Event:
        return parse_task_datagram(data, received_ns)


class UdpInput:
    """A listener and its handler, as one component the app starts and stops."""

    def __init__(
        self,
        settings: UdpInputSection,
        handler: InputHandler,
        *,
        spread_over: int = 1,
    ) -> None:
        self.name = f"udp {handler.name}"
        self.handler = handler
        self.listener = UdpListener(
            self.name,
            settings,
            handler,
            handler.stats,
            spread_over=spread_over,
            min_gather_s=handler.min_gather_s,
            max_gather_s=handler.max_gather_s,
        )

    @property
    def stats(self) -> IngestStats:
        return self.handler.stats

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()


def build(runtime: Runtime) -> list[UdpInput]:
    """The UDP inputs the configuration enables (the ingest metrics reporter is built with them)."""
    udp = runtime.config.udp
    inputs: list[UdpInput] = []
    if udp.log_events.enable and any(udp.log_events.sources.model_dump().values()):
        handler = LogEventsHandler(runtime, udp.log_events)
        inputs.append(UdpInput(udp.log_events, handler, spread_over=udp.log_events.workers))
    if udp.user_events.enable:
        inputs.append(UdpInput(udp.user_events, UserEventsHandler(runtime, udp.user_events)))
    if udp.task_events.enable:
        # read at once: task events are few and someone waits for each alert
        tasks = TaskEventsHandler(runtime, udp.task_events)
        inputs.append(UdpInput(udp.task_events, tasks))
    return inputs
