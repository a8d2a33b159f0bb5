"""The router: hands each event to the sinks and processors that take its kind.

Sources (and processors, for what they make) call :meth:`Router.publish` and never know who
consumes. A consumer is anything with a ``name``, ``kinds`` and a non-blocking ``submit``; one that
also has ``submit_many`` takes a whole batch in one call (:meth:`Router.publish_many`, used by the
UDP inputs: one call per consumer and batch rather than one per event).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from sensebutler.events import Event
from sensebutler.pipeline.processor import Processor
from sensebutler.sinks.base import Sink


class Consumer(Protocol):
    name: str
    kinds: frozenset[str]

    def submit(self, event: Event) -> None: ...


class Router:
    def __init__(self, consumers: Iterable[Consumer] = ()) -> None:
        self._routes: dict[str, list[Consumer]] = defaultdict(list)
        #: kind → each consumer's way to take a list of events
        self._batch_routes: dict[str, list[Callable[[list[Event]], None]]] = defaultdict(list)
        self.sinks: list[Sink] = []
        self.processors: list[Processor] = []
        self.published: Counter[str] = Counter()
        self.unrouted: Counter[str] = Counter()
        for consumer in consumers:
            self.add(consumer)

    def add(self, consumer: Consumer) -> None:
        if isinstance(consumer, Sink):
            self.sinks.append(consumer)
        elif isinstance(consumer, Processor):
            self.processors.append(consumer)
        many: Callable[[list[Event]], None] | None = getattr(consumer, "submit_many", None)
        for kind in consumer.kinds:
            self._routes[kind].append(consumer)
            self._batch_routes[kind].append(many or _one_by_one(consumer))

    def routes(self) -> Mapping[str, Sequence[str]]:
        return {kind: [c.name for c in consumers] for kind, consumers in self._routes.items()}

    def publish(self, event: Event) -> None:
        consumers = self._routes.get(event.kind)
        if not consumers:
            self.unrouted[event.kind] += 1
            return
        self.published[event.kind] += 1
        for consumer in consumers:
            consumer.submit(event)

    def publish_many(self, events: list[Event]) -> None:
        """Publish a batch: each consumer gets the events of each of its kinds in one call, in order."""
        by_kind: dict[str, list[Event]] = {}
        for event in events:
            group = by_kind.get(event.kind)
            if group is None:
                by_kind[event.kind] = [event]
            else:
                group.append(event)
        for kind, group in by_kind.items():
            self.publish_kind(kind, group)

    def publish_kind(self, kind: str, events: list[Event]) -> None:
        """Publish a batch whose events are all of ``kind`` (the caller knows; nothing is checked)."""
        takers = self._batch_routes.get(kind)
        if not takers:
            self.unrouted[kind] += len(events)
            return
        self.published[kind] += len(events)
        for take in takers:
            take(events)


def _one_by_one(consumer: Consumer) -> Callable[[list[Event]], None]:
    submit = consumer.submit

    def submit_each(events: list[Event]) -> None:
        for event in events:
            submit(event)

    return submit_each
