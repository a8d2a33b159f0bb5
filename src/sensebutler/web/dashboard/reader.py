"""What the dashboard's pages read from, whichever store holds the data.

:class:`Reader` is exactly the calls the page functions (``queries.py``) make. The embedded store's
:class:`~sensebutler.sinks.store.storage.Storage` is one; :class:`~.influx_reader.InfluxReader`
answers the same calls from the measurements the InfluxDB sink writes. A reader is blocking and
owned by one thread; a :class:`PageThread` runs a page function there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from sensebutler.sinks.store.storage import Aggregate

T = TypeVar("T")

ReadFailure = Literal["timeout", "unreachable", "refused", "rejected", "server_error", "bad_answer"]


class ReadError(Exception):
    """A page's data could not be read; ``category`` labels the dashboard's failure counter."""

    def __init__(self, message: str, category: ReadFailure) -> None:
        super().__init__(f"{message} ({category})")
        self.category: ReadFailure = category


class Reader(Protocol):
    def series(
        self,
        measurement: str,
        field_name: str,
        since_ns: int,
        until_ns: int,
        *,
        group_by: str = "",
        aggregate: Aggregate = "avg",
        where: dict[str, str] | None = None,
        points: int = 240,
    ) -> dict[str, list[tuple[int, float]]]:
        """Label → ``(bucket start in seconds, value)`` in time order (see ``Storage.series``)."""
        ...

    def latest(
        self,
        measurement: str,
        field_name: str,
        since_ns: int,
        *,
        group_by: str = "",
        where: dict[str, str] | None = None,
    ) -> dict[str, float]: ...

    def entries(
        self,
        kind: str,
        since_ns: int,
        until_ns: int,
        *,
        search: str = "",
        levels: Iterable[str] = (),
        limit: int = 100,
    ) -> list[dict[str, Any]]: ...

    def top(
        self,
        kind: str,
        column: Literal["name", "host", "level", "source"],
        since_ns: int,
        until_ns: int,
        *,
        order: Literal["count", "max"] = "count",
        limit: int = 10,
    ) -> list[tuple[str, int, float | None]]: ...

    def counts(self) -> dict[str, int]:
        """What the data source holds, for the Pipeline page."""
        ...

    def size_bytes(self) -> int | None:
        """Bytes on disk, None when the source does not say."""
        ...


class PageThread(Protocol):
    """The thread that owns a :class:`Reader`; every call runs there, in order."""

    def run(self, call: Callable[[Reader], T]) -> Awaitable[T]: ...


@dataclass(frozen=True)
class DataSource:
    """The reader the dashboard uses and what its pages cannot show from it."""

    name: Literal["store", "influxdb"]
    thread: PageThread
    #: page → what that page cannot show from this source
    unavailable: Mapping[str, Sequence[str]] = field(default_factory=dict)
