"""The dashboard's :class:`~.reader.Reader` over InfluxDB: the pages' calls answered with InfluxQL
from the measurements the InfluxDB sink writes (Butler SOS's schema, ``docs/influxdb.md``).

The pages speak the store's vocabulary (``sinks/store/records.py``). Polled and ingest samples
have the same measurement, field and tag names in both; what the store derives from UDP events is
found where the sink puts them: a log line's count is a ``log_event`` point, a user event's a
``user_events`` point, a task result one of Butler's ``reload_task_failed`` ... points (written
for the outcomes ``influxdb.tasks`` turns on).

Aggregation follows the store: ``aggregate`` within each series and time bucket, then summed over
the series of one label (an inner query per series, an outer sum per label).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sensebutler.sinks.influxdb.config import InfluxDbSection
from sensebutler.sinks.influxdb.schema import PROFILES, TASK_MEASUREMENTS, output_name, output_type
from sensebutler.sinks.store.storage import NS, Aggregate
from sensebutler.web.dashboard.influx_query import (
    InfluxQuery,
    ResultSeries,
    contains,
    identifier,
    literal,
    one_of,
)
from sensebutler.web.dashboard.reader import Reader

log = logging.getLogger(__name__)
T = TypeVar("T")

#: a "tag" whose value is the outcome in a task measurement's name (``reload_task_failed``)
OUTCOME = "_outcome"
QIX_SOURCE = "qseow-qix-perf"
_NOT_QIX = f"{identifier('source')} != {literal(QIX_SOURCE)}"
_QIX = f"{identifier('source')} = {literal(QIX_SOURCE)}"


@dataclass(frozen=True)
class Measured:
    """Where one of the store's ``(measurement, field)`` lives in InfluxDB."""

    measurement: str
    field_name: str
    #: InfluxQL condition on top of the time range
    where: str = ""
    #: the store's tag name → the InfluxDB tag
    tags: Mapping[str, str] = field(default_factory=dict)
    #: the store counts one per event; here that is ``count(field)``
    per_event: bool = False
    #: measurements of ``/^(a|b)$/`` form; empty: ``measurement`` alone
    several: tuple[str, ...] = ()


def _task_measurements(prefix: str = "") -> tuple[str, ...]:
    return tuple(sorted(name for name in TASK_MEASUREMENTS if name.startswith(prefix)))


#: the store's own series, derived from UDP events and task outcomes
DERIVED: dict[tuple[str, str], Measured] = {
    ("log", "count"): Measured(
        "log_event", "message", where=_NOT_QIX, tags={"category": "qs_log_category"}, per_event=True
    ),
    ("user_events", "count"): Measured(
        "user_events", "userFull", tags={"browser": "uaBrowserName", "os": "uaOsName"}, per_event=True
    ),
    ("task", "count"): Measured(
        "reload_task_failed",
        "execution_id",
        tags={"outcome": OUTCOME},
        per_event=True,
        several=_task_measurements(),
    ),
    ("reload", "duration_s"): Measured(
        "reload_task_success", "task_executionDuration_sec", tags={"source": "task_name"}
    ),
}

#: engine health points carry only their server's tags: one series per node, so a chart per node
#: needs no inner query per series (which costs InfluxDB 2-5x the time)
ONE_SERIES_PER_NODE = frozenset(
    {"sense_server", "mem", "apps", "cpu", "session", "users", "cache", "saturated"}
)
NODE_TAGS = frozenset({"server_name", "host"})
AGGREGATES: dict[Aggregate, str] = {"avg": "mean", "sum": "sum", "max": "max", "min": "min"}

Column = tuple[str, Literal["tag", "field"]]


@dataclass(frozen=True)
class EntrySource:
    """Where the store's entries of one kind are, and which columns make an entry."""

    measured: Measured
    host: Column | None = ("host", "tag")
    #: ``None``: the outcome from the measurement's name
    level: Column | None = None
    source: Column | None = None
    name: Column | None = None
    #: the first of these that is not empty
    detail: tuple[Column, ...] = ()
    value: Column | None = None
    extra: Mapping[str, Column] = field(default_factory=dict)


ENTRIES: dict[str, EntrySource] = {
    "log": EntrySource(
        Measured("log_event", "message", where=_NOT_QIX),
        level=("level", "tag"),
        source=("source", "tag"),
        name=("subsystem", "tag"),
        detail=(("message", "field"), ("exception_message", "field")),
        extra={"category": ("qs_log_category", "tag"), "task_name": ("task_name", "tag")},
    ),
    "task": EntrySource(
        Measured("reload_task_failed", "log_message", several=_task_measurements()),
        name=("task_name", "tag"),
        detail=(("log_message", "field"),),
        extra={
            "task_id": ("task_id", "tag"),
            "app_name": ("app_name", "tag"),
            "execution_id": ("execution_id", "field"),
        },
    ),
    "reload": EntrySource(
        Measured("reload_task_failed", "scriptLog", several=_task_measurements("reload_")),
        name=("task_name", "tag"),
        detail=(("scriptLog", "field"),),
        value=("task_executionDuration_sec", "field"),
        extra={"task_id": ("task_id", "tag"), "execution_id": ("execution_id", "field")},
    ),
    "poll_failed": EntrySource(
        Measured("butler_sos_errors", "error_message"),
        level=("error_category", "field"),
        source=("module", "tag"),
        detail=(("error_message", "field"),),
        value=("duration_ms", "field"),
    ),
}

#: page → what it cannot show when the dashboard reads InfluxDB
UNAVAILABLE: dict[str, tuple[str, ...]] = {
    "reloads": (
        "task results other than those influxdb.tasks writes (failed reloads by default; "
        "successful ones with tasks.reload_success.all_tasks)",
        "alerts sent and their destinations",
    ),
    "services": (
        "service states, state changes and restarts (the dashboard reads them from the embedded store only)",
    ),
    "pipeline": ("the embedded store's rows and size on disk (the store is off)",),
}


class InfluxReader(Reader):
    def __init__(self, query: InfluxQuery, version: int) -> None:
        self.query = query
        self.version = version
        self._unknown = {"", PROFILES[version].unknown_tag_value}

    # -- samples -----------------------------------------------------------------------------------
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
        measured = DERIVED.get((measurement, field_name)) or Measured(measurement, field_name)
        step = f"{max(1, (until_ns - since_ns) // NS // points)}s"
        tag = measured.tags.get(group_by, group_by)
        by_tag = f", {identifier(tag)}" if tag and tag != OUTCOME else ""
        conditions = self._conditions(measured, since_ns, until_ns, where)
        value = identifier(self._field(measured))
        source = self._from(measured)
        group = f"GROUP BY time({step}){by_tag} fill(none)"
        if not measured.per_event and output_type(measurement, field_name, self.version) == "bool":
            found = self._flags(value, source, conditions, group)
        elif measured.per_event or (measurement in ONE_SERIES_PER_NODE and tag in NODE_TAGS):
            function = "count" if measured.per_event else AGGREGATES[aggregate]
            found = self.query.series(f"SELECT {function}({value}) FROM {source} WHERE {conditions} {group}")
        else:
            inner = (
                f"SELECT {AGGREGATES[aggregate]}({value}) AS v FROM {source} WHERE {conditions} "
                f"GROUP BY time({step}), * fill(none)"
            )
            time_range = self._time(since_ns, until_ns)
            found = self.query.series(f"SELECT sum(v) FROM ({inner}) WHERE {time_range} {group}")
        grouped: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for result in found:
            label = self._label(result, tag, f"{measurement}.{field_name}")
            for time_ns, number in result.values:
                if number is not None:
                    grouped[label][int(time_ns) // NS] += float(number)
        return {label: sorted(values.items()) for label, values in sorted(grouped.items())}

    def _flags(self, value: str, source: str, conditions: str, group: str) -> list[ResultSeries]:
        """A boolean field per bucket as 1 (true at least once) or 0: InfluxQL has no max of booleans."""
        count = f"SELECT count({value}) FROM {source} WHERE {conditions}"
        seen = self.query.series(f"{count} {group}")
        true = self.query.series(f"{count} AND {value} = true {group}")
        hits = {(tuple(sorted(s.tags.items())), row[0]) for s in true for row in s.values if row[1]}
        return [
            ResultSeries(
                s.name,
                s.tags,
                s.columns,
                [[t, 1.0 if (tuple(sorted(s.tags.items())), t) in hits else 0.0] for t, _ in s.values],
            )
            for s in seen
        ]

    def latest(
        self,
        measurement: str,
        field_name: str,
        since_ns: int,
        *,
        group_by: str = "",
        where: dict[str, str] | None = None,
    ) -> dict[str, float]:
        measured = DERIVED.get((measurement, field_name)) or Measured(measurement, field_name)
        tag = measured.tags.get(group_by, group_by)
        conditions = self._conditions(measured, since_ns, None, where)
        found = self.query.series(
            f"SELECT last({identifier(self._field(measured))}) FROM {self._from(measured)} "
            f"WHERE {conditions} GROUP BY *"
        )
        totals: dict[str, float] = defaultdict(float)
        for result in found:
            for _, number in result.values:
                if isinstance(number, int | float):
                    totals[self._label(result, tag, f"{measurement}.{field_name}")] += float(number)
        return dict(sorted(totals.items()))

    # -- entries -----------------------------------------------------------------------------------
    def entries(
        self,
        kind: str,
        since_ns: int,
        until_ns: int,
        *,
        search: str = "",
        levels: Iterable[str] = (),
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        spec = ENTRIES.get(kind)
        if spec is None:  # a kind only the store keeps: the page lists it in UNAVAILABLE
            return []
        measured = spec.measured
        wanted = list(levels)
        if wanted and spec.level is None:
            outcomes = {name: name.rsplit("_", 1)[1] for name in measured.several}
            measured = Measured(
                measured.measurement,
                measured.field_name,
                several=tuple(name for name, outcome in outcomes.items() if outcome in wanted),
            )
            if not measured.several:
                return []
        conditions = self._conditions(measured, since_ns, until_ns, None)
        if wanted and spec.level is not None:
            conditions += f" AND {self._column(spec.level, cast=False)} =~ {one_of(wanted)}"
        columns = self._entry_columns(spec)
        if search:
            text = [column for column in columns.values() if column != spec.value]
            pattern = contains(search)
            matches = " OR ".join(f"{self._column(column, cast=False)} =~ {pattern}" for column in text)
            conditions += f" AND ({matches})"
        selected = ", ".join(f"{self._column(column)} AS c{i}" for i, column in enumerate(columns.values()))
        found = self.query.series(
            f"SELECT {selected} FROM {self._from(measured)} WHERE {conditions} "
            f"ORDER BY time DESC LIMIT {int(limit)}"
        )
        names = {f"c{i}": key for i, key in enumerate(columns)}
        rows = []
        for result in found:
            for row in result.values:
                values = dict(zip(result.columns, row, strict=False))
                got = {names[column]: value for column, value in values.items() if column in names}
                rows.append(self._entry(spec, int(values["time"]), result.name, got))
        rows.sort(key=lambda entry: -entry["ts"])
        return rows[:limit]

    def _entry_columns(self, spec: EntrySource) -> dict[str, Column]:
        columns: dict[str, Column] = {}
        for key, column in (
            ("host", spec.host),
            ("level", spec.level),
            ("source", spec.source),
            ("name", spec.name),
            ("value", spec.value),
        ):
            if column is not None:
                columns[key] = column
        columns.update((f"detail{i}", column) for i, column in enumerate(spec.detail))
        columns.update((f"extra.{key}", column) for key, column in spec.extra.items())
        return columns

    @staticmethod
    def _entry(spec: EntrySource, time_ns: int, measurement: str, got: dict[str, Any]) -> dict[str, Any]:
        task_type, _, outcome = measurement.rpartition("_task_")
        detail = next((got[f"detail{i}"] for i in range(len(spec.detail)) if got.get(f"detail{i}")), "")
        value = got.get("value")
        return {
            "ts": time_ns,
            "host": got.get("host") or "",
            "level": outcome if spec.level is None else got.get("level") or "",
            "source": task_type if spec.source is None and spec.level is None else got.get("source") or "",
            "name": got.get("name") or "",
            "detail": str(detail),
            "value": float(value) if isinstance(value, int | float) else None,
            "extra": {key: got.get(f"extra.{key}") or "" for key in spec.extra},
        }

    def top(
        self,
        kind: str,
        column: Literal["name", "host", "level", "source"],
        since_ns: int,
        until_ns: int,
        *,
        order: Literal["count", "max"] = "count",
        limit: int = 10,
    ) -> list[tuple[str, int, float | None]]:
        time_range = self._time(since_ns, until_ns)
        rows: list[tuple[str, int, float | None]] = []
        if (kind, column) == ("user", "name"):
            user = identifier(output_name("user_events", "userFull", self.version))
            found = self.query.series(
                f"SELECT count({user}) FROM {identifier('user_events')} WHERE {time_range} "
                f"GROUP BY {identifier('appName')}"
            )
            for result in found:
                app = result.tags.get("appName", "")
                if app:
                    rows.extend((app, int(count), None) for _, count in result.values)
        elif (kind, column) == ("qix", "name"):
            found = self.query.series(
                f"SELECT count({identifier('process_time')}), max({identifier('process_time')}) "
                f"FROM {identifier('log_event')} WHERE {_QIX} AND {time_range} "
                f"GROUP BY {identifier('object_type')}, {identifier('method')}"
            )
            for result in found:
                parts = [result.tags.get(tag, "") for tag in ("object_type", "method")]
                name = " / ".join("-" if part in self._unknown else part for part in parts)
                rows.extend((name, int(count), slowest) for _, count, slowest in result.values)
        else:
            raise ValueError(f"InfluxDB holds no top list of {kind} by {column}")
        rows.sort(key=lambda row: -(row[1] if order == "count" else (row[2] or 0.0)))
        return rows[:limit]

    # -- the source itself -------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        found = self.query.series("SHOW MEASUREMENTS")
        return {"measurements": sum(len(result.values) for result in found)}

    def size_bytes(self) -> int | None:
        return None

    # -- InfluxQL pieces ---------------------------------------------------------------------------
    def _field(self, measured: Measured) -> str:
        return output_name(measured.measurement, measured.field_name, self.version)

    def _column(self, column: Column, *, cast: bool = True) -> str:
        name, kind = column
        if kind == "field":
            return identifier(name)  # field names of entries are the same in every version
        return f"{identifier(name)}::tag" if cast else identifier(name)

    @staticmethod
    def _from(measured: Measured) -> str:
        if measured.several:
            return one_of(measured.several)
        return identifier(measured.measurement)

    @staticmethod
    def _time(since_ns: int, until_ns: int | None) -> str:
        bound = f"time >= {int(since_ns)}"
        return bound if until_ns is None else f"{bound} AND time < {int(until_ns)}"

    def _conditions(
        self, measured: Measured, since_ns: int, until_ns: int | None, where: dict[str, str] | None
    ) -> str:
        parts = [self._time(since_ns, until_ns)]
        if measured.where:
            parts.append(measured.where)
        for key, value in (where or {}).items():
            parts.append(f"{identifier(measured.tags.get(key, key))} = {literal(value)}")
        return " AND ".join(parts)

    @staticmethod
    def _label(result: ResultSeries, tag: str, otherwise: str) -> str:
        if tag == OUTCOME:
            return result.name.rpartition("_task_")[2] or "-"
        if tag:
            return result.tags.get(tag) or "-"
        return otherwise


class InfluxPages:
    """The InfluxDB reader on its own thread (a :class:`~.reader.PageThread` and a component)."""

    name = "dashboard-influxdb"

    def __init__(self, reader: InfluxReader, section: InfluxDbSection) -> None:
        self.reader = reader
        self.section = section
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-influxdb")

    async def run(self, call: Callable[[Reader], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call, self.reader)

    async def start(self) -> None:
        log.info(
            "dashboard: reads InfluxDB %d at %s (the embedded store is off)",
            self.section.version,
            self.reader.query.url,
        )

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.get_running_loop().run_in_executor(self._thread, self.reader.query.close)
        self._thread.shutdown(wait=False)
