"""Realistic predefined datagrams for every kind of log4net UDP event a Sense site sends.

``KINDS[name].datagram(i, seed)`` gives the i-th datagram of a kind: a log row a Sense service would
write (host, user, app, task, GUIDs and message drawn from a small seeded site), rendered by the
appender that ships for it (:mod:`sensebutler.simulator.log4net`). The same ``(kind, i, seed)`` always
gives the same fields; only the timestamps follow ``now``. ``malformed`` cycles through hostile and
broken datagrams a receiver must survive.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from sensebutler.simulator.log4net import AppenderSpec, LogRecord, appender

__all__ = ["KINDS", "LOG_PORT", "MAX_UDP_PAYLOAD", "TASK_PORT", "USER_AGENTS", "USER_PORT", "SampleKind"]

LOG_PORT = 9996
USER_PORT = 9997
TASK_PORT = 9998
MAX_UDP_PAYLOAD = 65_507  # the largest datagram IPv4 can carry

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.0.0 Safari/537.36 Edg/138.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.5 Mobile/15E148 Safari/604.1",
)

_HOSTS = ("QS-PROD-01", "QS-PROD-02", "QS-RIM-03", "sense-central", "qlik-node2")
_DIRECTORIES = ("LAB", "ACME", "CORP")
_USER_IDS = (
    "goran", "anna.berg", "jdoe", "mchen", "s.kowalski", "priya", "ahmed.h", "lucia", "tnguyen", "olsson",
    "k.mueller", "fatima", "r.rossi", "emma.w", "svc-etl", "david", "ingrid", "yuki.t", "pablo", "nora",
)  # fmt: skip
_APP_NAMES = (
    "Sales dashboard", "Finance - monthly close", "HR headcount", "Supply chain KPIs", "Customer 360",
    "Marketing campaigns", "Inventory levels", "Operations monitor", "License monitor", "Executive summary",
    "Budget vs actual", "Web analytics", "Support tickets", "Manufacturing OEE", "Procurement spend",
)  # fmt: skip
_ORIGINS = ("https://qlik.acme.com", "https://sense.lab.local", "https://analytics.corp.example")
_EXE_VERSION = "14.187.4"
_SERVICE_USER = "LAB\\qlikservice"
_SCHEDULER_USER = ("INTERNAL", "sa_scheduler")
_OBJECT_IDS = ("rwPjBk", "JxmPq", "fGhTy", "kLpRt", "QpTzA")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _App:
    id: str
    name: str
    task_id: str
    task_name: str


@dataclass(frozen=True, slots=True)
class _Site:
    """The hosts, users, apps and reload tasks one seed's datagrams talk about."""

    apps: tuple[_App, ...]
    process_ids: dict[str, str]
    server_started: datetime


def _guid(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


@lru_cache(maxsize=8)
def _site(seed: int) -> _Site:
    rng = random.Random(seed)
    apps = []
    for name in _APP_NAMES:
        task_name = rng.choice(
            ("Reload of {}", "Scheduled reload {}", "{} - nightly", "Manually triggered reload of {}")
        )
        apps.append(_App(_guid(rng), name, _guid(rng), task_name.format(name)))
    started = datetime(2025, 6, 1, 3, 0, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(100_000))
    return _Site(tuple(apps), {host: _guid(rng) for host in _HOSTS}, started)


@dataclass(slots=True)
class _Draw:
    """One datagram's random choices."""

    rng: random.Random
    site: _Site
    now: datetime
    row: int
    host: str = ""

    def __post_init__(self) -> None:
        self.host = self.pick(_HOSTS)

    def pick(self, options: tuple[_T, ...]) -> _T:
        return self.rng.choice(options)

    def guid(self) -> str:
        return _guid(self.rng)

    def user(self) -> tuple[str, str]:
        return self.pick(_DIRECTORIES), self.pick(_USER_IDS)

    def level(self, *weighted: tuple[str, int]) -> str:
        return self.rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]

    def record(
        self, level: str, logger: str, message: str, exception: str = "", **properties: str
    ) -> LogRecord:
        return LogRecord(
            time=self.now,
            level=level,
            logger=logger,
            message=message,
            exception=exception,
            hostname=self.host,
            service_user=_SERVICE_USER,
            row=self.row,
            properties=properties,
        )

    def iso(self, moment: datetime) -> str:
        return moment.isoformat(timespec="milliseconds")

    def words(self) -> dict[str, str]:
        """A user, an app with its reload task, another host and ids, for message templates."""
        app = self.pick(self.site.apps)
        directory, user_id = self.user()
        return {
            "directory": directory,
            "user_id": user_id,
            "app_id": app.id,
            "app_name": app.name,
            "first_word": app.name.split()[0],
            "task_id": app.task_id,
            "task_name": app.task_name,
            "host": self.pick(_HOSTS),
            "origin": self.pick(_ORIGINS),
            "session": self.guid(),
            "handle": str(self.rng.randint(1, 40)),
            "object_id": self.pick(_OBJECT_IDS),
        }


# -------------------------------------------------------------------------------------- log events
# Message templates; the fields in braces come from the datagram's draw (see _Draw.words).

_ENGINE_MESSAGES = (
    "Failed to open app {app_id}: Access denied for user {directory}\\{user_id}",
    "Working set limit reached: 91% of physical memory is in use (high limit 90%)",
    "Reload sequence was not successful (Result=False, Finished=True, Aborted=False) "
    "for engine connection with handle {handle}",
    "Calculation for object {object_id} in app {app_id} timed out after 60 s",
    "Cannot open file 'lib://DataFiles/{first_word}.qvd' (Connector error: file not found)",
    "Session {session} closed after inactivity timeout",
    "CPU usage above 90% for more than 60 s",
)
_ENGINE_LOGGERS = ("System.Engine.Engine", "Performance.Engine.Engine", "Session.Engine.Engine")
_ENTRY_TYPES = {"WARN": "Warning", "ERROR": "Error", "FATAL": "Error"}


@dataclass(frozen=True, slots=True)
class _ServiceRow:
    """A proxy or repository warning: logger, message, exception and the audit properties."""

    logger: str
    message: str
    exception: str
    command: str
    result: str
    origin: str
    context: str
    with_user: bool = True


_PROXY_ROWS = (
    _ServiceRow("Audit.Proxy.Proxy.Core.RequestListener",
                "Access was denied for User: '{directory}\\{user_id}'",
                "", "Authenticate", "403", "{origin}", "/app/{app_id}"),
    _ServiceRow("Security.Proxy.Proxy.Core.Authentication",
                "Authentication failed for user {directory}\\{user_id}: invalid or expired ticket",
                "", "Login", "401", "{origin}", "/hub/"),
    _ServiceRow("System.Proxy.Proxy.Core.LoadBalancing", "No engine available for app {app_id}", "",
                "Load balancing", "503", "Proxy", "/app/{app_id}"),
    _ServiceRow("System.Proxy.Proxy.Core.Connection",
                "Websocket to engine on {host}:4747 closed unexpectedly",
                "Unable to read data from the transport connection: the connection was forcibly closed",
                "Open connection", "500", "Proxy", "/app/{app_id}"),
    _ServiceRow("AuditSecurity.Proxy.Proxy.Core.RequestListener",
                "Request rejected: header 'X-Qlik-Xrfkey' missing", "",
                "Request", "403", "{origin}", "/qrs/app"),
)  # fmt: skip
_REPOSITORY_ROWS = (
    _ServiceRow("System.Repository.Repository.Core.Service.ServiceAliveChecker",
                "Failed to request service alive response from https://{host}:4899/",
                "Unable to connect to the remote server",
                "ServiceAlive", "", "Repository", "", with_user=False),
    _ServiceRow("UserManagement.Repository.Repository.Core.UserSync",
                "Duplicate entity with userId '{user_id}' in directory '{directory}'", "",
                "UserSync", "", "Repository", ""),
    _ServiceRow("System.Repository.Repository.Core.Synchronization",
                "Synchronization of app '{app_name}' to node {host} failed", "The operation has timed out",
                "AppSync", "500", "Repository", "/qrs/app/{app_id}", with_user=False),
    _ServiceRow("Service.Repository", "Access was denied for User: '{directory}\\{user_id}'", "",
                "Check access", "403", "AppAccess", "/qrs/app/{app_id}"),
)  # fmt: skip

_TASK_SESSION = "System.Scheduler.Scheduler.Master.Task.TaskSession"
_RELOAD_TASK = "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask"
_SCHEDULER_ROWS = (
    (
        _RELOAD_TASK,
        "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
        "ERROR",
    ),
    (_TASK_SESSION, "Task finished with state FinishedFail", "WARN"),
    (_TASK_SESSION, "Task finished with state Error", "ERROR"),
    (_TASK_SESSION, "Task '{task_name}' was not started: the task is already running", "WARN"),
    (_TASK_SESSION, "Max retries reached", "ERROR"),
)


def _engine(d: _Draw) -> LogRecord:
    words = d.words()
    level = d.level(("WARN", 6), ("ERROR", 3), ("FATAL", 1))
    return d.record(
        level,
        d.pick(_ENGINE_LOGGERS),
        d.pick(_ENGINE_MESSAGES).format(**words),
        ProxySessionId=d.guid(),
        ActiveUserDirectory=words["directory"],
        ActiveUserId=words["user_id"],
        EngineTimestamp=d.iso(d.now - timedelta(milliseconds=d.rng.randint(0, 9))),
        ProcessId=d.site.process_ids[d.host],
        **{
            "Exe Version": _EXE_VERSION,
            "Server Started": d.iso(d.site.server_started.astimezone(d.now.tzinfo)),
            "Entry Type": _ENTRY_TYPES[level],
        },
        SessionId=words["session"],
        AppId=words["app_id"],
    )


def _service_row(d: _Draw, rows: tuple[_ServiceRow, ...], *levels: tuple[str, int]) -> LogRecord:
    words = d.words()
    row = d.pick(rows)
    return d.record(
        d.level(*levels),
        row.logger,
        row.message.format(**words),
        row.exception,
        UserDirectory=words["directory"] if row.with_user else "",
        UserId=words["user_id"] if row.with_user else "",
        Command=row.command,
        Result=row.result,
        Origin=row.origin.format(**words),
        Context=row.context.format(**words),
    )


def _proxy(d: _Draw) -> LogRecord:
    return _service_row(d, _PROXY_ROWS, ("WARN", 7), ("ERROR", 3))


def _repository(d: _Draw) -> LogRecord:
    return _service_row(d, _REPOSITORY_ROWS, ("WARN", 6), ("ERROR", 4))


def _scheduler(d: _Draw) -> LogRecord:
    words = d.words()
    manual = d.rng.random() < 0.3  # started by a user from the QMC rather than by a trigger
    directory, user_id = (words["directory"], words["user_id"]) if manual else _SCHEDULER_USER
    logger, message, level = d.pick(_SCHEDULER_ROWS)
    return d.record(
        level,
        logger,
        message.format(**words),
        UserDirectory=directory if manual else "",
        UserId=user_id if manual else "",
        User=f"{directory}\\{user_id}",
        TaskName=words["task_name"],
        AppName=words["app_name"],
        TaskId=words["task_id"],
        AppId=words["app_id"],
        ExecutionId=d.guid(),
    )


_QIX_CALLS = (
    ("Global::OpenApp", "<Unknown>"),
    ("Doc::GetAppLayout", "<Unknown>"),
    ("Doc::GetObject", "sheet"),
    ("Doc::CreateSessionObject", "AppPropsList"),
    ("GenericObject::GetLayout", "SheetList"),
    ("GenericObject::GetLayout", "barchart"),
    ("GenericObject::GetLayout", "linechart"),
    ("GenericObject::GetLayout", "kpi"),
    ("GenericObject::GetHyperCubeData", "table"),
    ("GenericObject::GetListObjectData", "listbox"),
    ("GenericObject::SelectListObjectValues", "listbox"),
    ("GenericObject::GetLayout", "map"),
)


def _qix_perf(d: _Draw) -> LogRecord:
    app = d.pick(d.site.apps)
    scheduled = d.rng.random() < 0.15
    if scheduled:  # reloads run without a proxy session, as the scheduler's service account
        method, object_type, object_id = "Doc::DoReload", "<Unknown>", "<Unknown>"
        proxy_session, (directory, user_id), handle = "0", _SCHEDULER_USER, "1"
        process = d.rng.uniform(5_000, 400_000)
    else:
        method, object_type = d.pick(_QIX_CALLS)
        object_id = "<Unknown>" if object_type == "<Unknown>" else d.pick((*_OBJECT_IDS, d.guid()))
        proxy_session, (directory, user_id) = d.guid(), d.user()
        handle = str(d.pick((-1, *range(1, 60))))
        process = d.rng.lognormvariate(3.0, 1.2)
    work = process * d.rng.uniform(0.6, 0.98)
    return d.record(
        "INFO",
        "QixPerformance.Engine.Engine",
        "",
        ProxySessionId=proxy_session,
        ActiveUserDirectory=directory,
        ActiveUserId=user_id,
        EngineTimestamp=d.iso(d.now - timedelta(milliseconds=round(process))),
        SessionId=d.guid(),
        DocId=app.id,
        RequestId=str(d.rng.randint(0, 5000)),
        Method=method,
        ProcessTime=f"{process:.3f}",
        WorkTime=f"{work:.3f}",
        LockTime=f"{d.rng.uniform(0, 2):.3f}",
        ValidateTime=f"{d.rng.uniform(0, process - work):.3f}",
        TraverseTime=f"{d.rng.uniform(0, work / 2):.3f}",
        Handle=handle,
        ObjectId=object_id,
        NetRAM=str(d.rng.randint(0, 50_000_000)),
        PeakRAM=str(d.rng.randint(50_000_000, 2_000_000_000)),
        ObjectType=object_type,
    )


# ------------------------------------------------------------------------------------- user events


def _context(d: _Draw) -> str:
    app = d.pick(d.site.apps)
    return d.pick(
        ("/hub/", f"/app/{app.id}", f"/app/{app.id}?reloaduri=https://qlik.acme.com/sense/app/{app.id}")
    )


def _user_session(d: _Draw) -> LogRecord:
    directory, user_id = d.user()
    start = d.rng.random() < 0.55
    verb = "Start" if start else "Stop"
    message = f"{verb} session for user '{directory}\\{user_id}'"
    if start:
        message += f" UserAgent: '{d.pick(USER_AGENTS)}'"
    return d.record(
        "INFO",
        "AuditActivity.Proxy.Proxy.SessionEvents",
        message,
        Command=f"{verb} session",
        UserDirectory=directory,
        UserId=user_id,
        Origin=d.pick(_ORIGINS),
        Context=_context(d),
    )


def _user_connection(d: _Draw) -> LogRecord:
    directory, user_id = d.user()
    opened = d.rng.random() < 0.55
    state, command = ("Opened", "Open connection") if opened else ("Closed", "Close connection")
    message = f"Websocket connection {state} for session '{d.guid()}'. UserAgent: '{d.pick(USER_AGENTS)}'"
    return d.record(
        "INFO",
        "AuditActivity.Proxy.Proxy.ConnectionEvents",
        message,
        Command=command,
        UserDirectory=directory,
        UserId=user_id,
        Origin=d.pick(_ORIGINS),
        Context=_context(d),
    )


# ------------------------------------------------------------------------------------- task events


def _task(messages: tuple[str, ...], level: str, logger: str = _TASK_SESSION) -> Callable[[_Draw], LogRecord]:
    def build(d: _Draw) -> LogRecord:
        app = d.pick(d.site.apps)
        manual = d.rng.random() < 0.25
        directory, user_id = d.user() if manual else _SCHEDULER_USER
        return d.record(
            level,
            logger,
            d.pick(messages).format(task=app.task_name),
            User=f"{directory}\\{user_id}",
            TaskName=app.task_name,
            AppName=app.name,
            TaskId=app.task_id,
            AppId=app.id,
            ExecutionId=d.guid(),
        )

    return build


_FAILED = ("Max retries reached", "Max retries reached", "Failed to start session for task '{task}'",
           "Could not reserve an executor for task '{task}'")  # fmt: skip
_ABORTED = ("Execution State Change to Aborting",)
_SUCCESS = ("Execution State Change to FinishedSuccess",)
_DISTRIBUTE = ("Exiting execute of Distribute task request.",)


def _engine_reload_failed(d: _Draw) -> LogRecord:
    app = d.pick(d.site.apps)
    directory, user_id = d.user()
    return d.record(
        "ERROR",
        "System.Engine.Engine",
        d.pick(("Reload failed in Engine. Check engine or script logs.",
                "Reload failed: General Script Error in statement handling",
                "Reload failed: Field 'OrderDate' not found")),
        AppId=app.id,
        AppName=app.name,
        UserDirectory=directory,
        UserId=user_id,
        Timestamp=d.now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        ExecutionId=d.guid(),
    )  # fmt: skip


def _prefixed(spec: AppenderSpec, prefix: str) -> AppenderSpec:
    """Butler also accepts other type strings in the task format; no shipped appender sends them."""
    _, tail = spec.pattern.split(";", 1)
    return replace(spec, name=f"{spec.name}({prefix})", pattern=f"{prefix};{tail}")


_ENGINE_RELOAD_FAILED = AppenderSpec(
    name="EngineReloadFailed",
    service="engine",
    remote_port=TASK_PORT,
    loggers=("System.Engine",),
    pattern="/engine-reload-failed/;%hostname;%property{AppId};%property{AppName};%property{UserDirectory};"
    "%property{UserId};%property{Timestamp};%property{ExecutionId};%message",
)


# --------------------------------------------------------------------------------------- malformed


def _task_row(d: _Draw) -> str:
    return appender("scheduler", "TaskFailLogger").render(_task(_FAILED, "ERROR")(d))


def _log_row(d: _Draw) -> str:
    return appender("engine", "LogEvent").render(_engine(d))


def _replace_field(row: str, index: int, value: str) -> bytes:
    fields = row.split(";")
    fields[index] = value
    return ";".join(fields).encode()


def _random_bytes(d: _Draw, size: int) -> bytes:
    return d.rng.getrandbits(8 * size).to_bytes(size, "little")


def _oversize(d: _Draw) -> bytes:
    head = _log_row(d).encode()
    return (head + b";" + b"x" * MAX_UDP_PAYLOAD)[:MAX_UDP_PAYLOAD]


_MALFORMED: tuple[Callable[[_Draw], bytes], ...] = (
    lambda d: b"",
    lambda d: b"   \r\n",
    lambda d: b";" * d.rng.randint(1, 40),
    lambda d: f"/qseow-engine/;{d.row};{d.host};only a few fields".encode(),
    lambda d: _replace_field(_task_row(d), 5, "not-a-guid"),
    lambda d: _replace_field(_task_row(d), 6, d.guid()[:-3] + "xyz"),
    lambda d: (_task_row(d) + ";an extra; field").encode(),
    lambda d: _log_row(d).replace(";", ";\x00\x07\x1b[31m", 3).encode(),
    lambda d: b"/qseow-proxy/;" + _random_bytes(d, d.rng.randint(1, 200)),
    lambda d: "/qseow-scheduler/;Reload failed for app Försäljning".encode("latin-1"),
    lambda d: b"\xff\xfe/qseow-engine/;\xc3\x28;\xa0\xa1",
    lambda d: f"/qseow-unknown-source/;{d.row};{d.host};WARN;mystery".encode(),
    lambda d: _task_row(d).split(";", 1)[1].encode(),  # the pre-v5 Butler format had no type prefix
    _oversize,
    lambda d: b"/QSEOW-ENGINE/ ;  \t" + "🔥".encode() * d.rng.randint(1, 50),
    lambda d: b"/qseow-proxy-session/;" + b";" * 5000,
)


# ------------------------------------------------------------------------------------------- kinds


def _now_ms() -> datetime:
    """Local time now, to the millisecond the rows show (lets the renderer reuse formatted stamps)."""
    now = datetime.now().astimezone()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True, slots=True)
class SampleKind:
    """A kind of datagram: its CLI name, default target port, and how the i-th one is built."""

    name: str
    port: int
    description: str
    appender: AppenderSpec | None
    build: Callable[[_Draw], LogRecord] | None = None

    def _draw(self, i: int, seed: int, now: datetime | None) -> _Draw:
        moment = now if now is not None else _now_ms()
        return _Draw(random.Random(f"{seed}:{self.name}:{i}"), _site(seed), moment, i + 1)

    def record(self, i: int, seed: int = 0, now: datetime | None = None) -> LogRecord | None:
        """The log row behind the i-th datagram (None for ``malformed``, which has no row)."""
        return None if self.build is None else self.build(self._draw(i, seed, now))

    def datagram(self, i: int, seed: int = 0, now: datetime | None = None) -> bytes:
        """The i-th datagram of this kind for ``seed``, stamped with ``now`` (default: local time now)."""
        draw = self._draw(i, seed, now)
        if self.build is None or self.appender is None:
            return _MALFORMED[i % len(_MALFORMED)](draw)
        return self.appender.render(self.build(draw)).encode("utf-8")

    @property
    def prefix(self) -> str:
        """Field 0 of this kind's datagrams ('' for ``malformed``)."""
        return self.appender.pattern.split(";", 1)[0] if self.appender else ""


def _kinds() -> dict[str, SampleKind]:
    fail = appender("scheduler", "TaskFailLogger")
    abort = appender("scheduler", "TaskAbortLogger")
    success = appender("scheduler", "TaskSuccessLogger")
    kinds = (
        SampleKind("engine", LOG_PORT, "engine warning or error", appender("engine", "LogEvent"), _engine),
        SampleKind("proxy", LOG_PORT, "proxy warning or error", appender("proxy", "LogEvent"), _proxy),
        SampleKind("repository", LOG_PORT, "repository warning or error", appender("repository", "LogEvent"),
                   _repository),
        SampleKind("scheduler", LOG_PORT, "scheduler warning or error", appender("scheduler", "LogEvent"),
                   _scheduler),
        SampleKind("qix-perf", LOG_PORT, "QIX performance row", appender("engine", "QixPerf"), _qix_perf),
        SampleKind("user-session", USER_PORT, "proxy session start/stop", appender("proxy", "EventSession"),
                   _user_session),
        SampleKind("user-connection", USER_PORT, "proxy connection open/close",
                   appender("proxy", "EventConnection"), _user_connection),
        SampleKind("task-failed", TASK_PORT, "task failed", fail, _task(_FAILED, "ERROR")),
        SampleKind("task-aborted", TASK_PORT, "task aborted", abort, _task(_ABORTED, "INFO")),
        SampleKind("task-success", TASK_PORT, "task succeeded (Butler's file, stray '/')", success,
                   _task(_SUCCESS, "INFO")),
        SampleKind("task-distribute", TASK_PORT, "distribution task finished",
                   appender("scheduler", "DistributionTaskLogger"), _task(_DISTRIBUTE, "INFO", _RELOAD_TASK)),
        SampleKind("reloadtask-failed", TASK_PORT, "reload task failed",
                   _prefixed(fail, "/scheduler-reloadtask-failed/"), _task(_FAILED[:1], "ERROR")),
        SampleKind("reloadtask-success", TASK_PORT, "reload task succeeded",
                   _prefixed(success, "/scheduler-reloadtask-success/"), _task(_SUCCESS, "INFO")),
        SampleKind("reload-failed", TASK_PORT, "reload failed",
                   _prefixed(fail, "/scheduler-reload-failed/"), _task(_FAILED[:1], "ERROR")),
        SampleKind("reload-aborted", TASK_PORT, "reload aborted",
                   _prefixed(abort, "/scheduler-reload-aborted/"), _task(_ABORTED, "INFO")),
        SampleKind("engine-reload-failed", TASK_PORT, "engine reload failed (9 fields)",
                   _ENGINE_RELOAD_FAILED, _engine_reload_failed),
        SampleKind("malformed", LOG_PORT, "broken and hostile datagrams (empty, wrong fields, bad GUIDs, "
                   "control characters, binary, not UTF-8, oversize)", None),
    )  # fmt: skip
    return {kind.name: kind for kind in kinds}


KINDS: dict[str, SampleKind] = _kinds()
