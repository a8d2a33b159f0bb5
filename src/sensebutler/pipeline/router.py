"""The router: sends each event to the sinks that config enables for its kind.

Sources call :meth:`Router.publish` and never know which sinks exist.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from sensebutler.events import Event
from sensebutler.sinks.base import Sink


class Router:
    def __init__(self, sinks: Iterable[Sink] = ()) -> None:
        self._routes: dict[str, list[Sink]] = defaultdict(list)
        self.sinks: list[Sink] = []
        self.published: Counter[str] = Counter()
        self.unrouted: Counter[str] = Counter()
        for sink in sinks:
            self.add(sink)

    def add(self, sink: Sink) -> None:
        self.sinks.append(sink)
        for kind in sink.kinds:
            self._routes[kind].append(sink)

    def routes(self) -> Mapping[str, Sequence[str]]:
        return {kind: [s.name for s in sinks] for kind, sinks in self._routes.items()}

    def publish(self, event: Event) -> None:
        sinks = self._routes.get(event.kind)
        if not sinks:
            self.unrouted[event.kind] += 1
            return
        self.published[event.kind] += 1
        for sink in sinks:
            sink.submit(event)
