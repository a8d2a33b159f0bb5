"""A whole new destination in one module: each event as a JSON line in a file.

This is all a destination needs: a ``Destination`` (open/send/close, raising ``DeliveryError``), a
``DeliverySink`` that encodes events to bytes, and ``build(runtime)``. Batching, retry, the spool and
the counters come from the shared delivery; ``tests/test_app.py`` adds it to the feature registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from sensebutler.events import Event
from sensebutler.pipeline.delivery import DeliveryError
from sensebutler.runtime import Runtime
from sensebutler.sinks.base import DeliverySink, Sink


class JsonLinesFile:
    name = "jsonl"
    max_in_flight = 1

    def __init__(self, path: Path) -> None:
        self.path = path

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    async def send(self, batch: list[bytes]) -> None:
        try:
            with self.path.open("ab") as out:
                out.writelines(record + b"\n" for record in batch)
        except OSError as exc:
            raise DeliveryError(str(exc)) from exc

    async def close(self) -> None:
        pass


class JsonLinesSink(DeliverySink):
    def encode(self, event: Event) -> Iterable[bytes]:
        yield orjson.dumps({"kind": event.kind, "time_ns": event.time_ns})


def build(runtime: Runtime) -> list[Sink]:
    destination = JsonLinesFile(runtime.state_dir / "events.jsonl")
    return [
        JsonLinesSink("jsonl", {"health"}, destination, runtime.config.delivery, runtime.state_dir / "spool")
    ]
