"""The router: hands each event to the sinks and processors that take its kind.

Sources (and processors, for what they make) call :meth:`Router.publish` and never know who
consumes. A consumer is anything with a ``name``, ``kinds`` and a non-blocking ``submit``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
        for kind in consumer.kinds:
            self._routes[kind].append(consumer)

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
