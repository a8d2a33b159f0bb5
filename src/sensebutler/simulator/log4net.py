"""How a Qlik Sense service's log4net ``UdpAppender`` turns a log row into a datagram.

* :func:`render` formats a :class:`LogRecord` with a log4net conversion pattern, including the
  converters Qlik ships (``%rownum``, ``%hostname``, ``%longIso8601date``, ``%user``,
  ``%encodedmessage``, ``%encodedexception``).
* :class:`AppenderSpec` is one appender of a ``LocalLogConfig.xml``: port, threshold, filter chain,
  pattern and the loggers that reference it; :meth:`AppenderSpec.accepts` decides like log4net whether
  a row reaches it. :func:`load_appenders` reads the XML files users install.
* :data:`APPENDERS` holds the appenders of the files Butler and Butler SOS ship, byte for byte in their
  patterns, so the simulator sends what a real installation sends (including Butler's success prefix
  ``/scheduler-task-success//`` with its stray slash).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

__all__ = [
    "APPENDERS",
    "LEVELS",
    "QLIK_CONVERTERS",
    "AppenderConfigError",
    "AppenderSpec",
    "DenyAllFilter",
    "LogRecord",
    "PatternError",
    "StringMatchFilter",
    "appender",
    "load_appenders",
    "render",
]

# log4net's level values (log4net.Core.Level); thresholds compare these numbers.
LEVELS: dict[str, int] = {
    "ALL": -(2**31),
    "VERBOSE": 10_000,
    "FINEST": 10_000,
    "TRACE": 20_000,
    "FINER": 20_000,
    "DEBUG": 30_000,
    "FINE": 30_000,
    "INFO": 40_000,
    "NOTICE": 50_000,
    "WARN": 60_000,
    "ERROR": 70_000,
    "SEVERE": 80_000,
    "CRITICAL": 90_000,
    "ALERT": 100_000,
    "FATAL": 110_000,
    "EMERGENCY": 120_000,
    "OFF": 2**31 - 1,
}

_QLIK_PREFIX = "Qlik.Sense.Logging.log4net.Layout.Pattern."
# The names Qlik's appender files give to Qlik's pattern converters.
QLIK_CONVERTERS: dict[str, str] = {
    "rownum": _QLIK_PREFIX + "CounterPatternConverter",
    "hostname": _QLIK_PREFIX + "HostNamePatternConverter",
    "longIso8601date": _QLIK_PREFIX + "Iso8601TimeOffsetPatternConverter",
    "user": _QLIK_PREFIX + "ServiceUserNameCachedPatternConverter",
    "encodedmessage": _QLIK_PREFIX + "EncodedMessagePatternConverter",
    "encodedexception": _QLIK_PREFIX + "EncodedExceptionPatternConverter",
}

_MAX_CONFIG_BYTES = 1024 * 1024  # Qlik rejects LocalLogConfig.xml files above 1 MB


class PatternError(ValueError):
    """A conversion pattern uses a converter or option this renderer does not know."""


class AppenderConfigError(ValueError):
    """A LocalLogConfig.xml cannot be read as log4net UDP appenders."""


@dataclass(slots=True)
class LogRecord:
    """One row a Sense service logs. ``time`` must be timezone-aware; it is rendered in its own offset."""

    time: datetime
    level: str
    logger: str
    message: str
    exception: str = ""
    hostname: str = ""
    service_user: str = ""
    row: int = 1
    properties: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- converters

_Converter = Callable[[LogRecord, str | None], str]


def _clock(m: datetime) -> str:
    return f"{m.hour:02d}:{m.minute:02d}:{m.second:02d},{m.microsecond // 1000:03d}"


def _date(record: LogRecord, option: str | None) -> str:
    return _format_date(record.time.replace(tzinfo=None), option)


def _utcdate(record: LogRecord, option: str | None) -> str:
    return _format_date(record.time.astimezone(UTC).replace(tzinfo=None), option)


# The caches below are keyed on wall-clock time (aware datetimes of different zones compare equal):
# rows come in bursts within one millisecond and formatting dominates rendering.


@lru_cache(maxsize=64)
def _format_date(moment: datetime, option: str | None) -> str:
    name = (option or "ISO8601").upper()
    if name == "ISO8601":
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {_clock(moment)}"
    if name == "ABSOLUTE":
        return _clock(moment)
    if name == "DATE":
        return moment.strftime("%d %b %Y ") + _clock(moment)
    raise PatternError(f"unsupported date format {option!r} (use ISO8601, ABSOLUTE or DATE)")


def _long_iso8601(record: LogRecord, option: str | None) -> str:
    """Qlik's compact local timestamp with offset, e.g. ``20211109T153726.028+0200``."""
    offset = record.time.utcoffset() or timedelta()
    return _compact_iso8601(record.time.replace(tzinfo=None), round(offset.total_seconds()) // 60)


@lru_cache(maxsize=64)
def _compact_iso8601(m: datetime, offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return (
        f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}"
        f".{m.microsecond // 1000:03d}{sign}{hours:02d}{minutes:02d}"
    )


def _logger(record: LogRecord, option: str | None) -> str:
    if not option:
        return record.logger
    try:
        keep = int(option)
    except ValueError as error:
        raise PatternError(f"logger precision must be a number, not {option!r}") from error
    return ".".join(record.logger.split(".")[-keep:]) if keep > 0 else record.logger


def _property(record: LogRecord, option: str | None) -> str:
    if option is None:
        return "{" + ", ".join(f"{k}={v}" for k, v in record.properties.items()) + "}"
    return record.properties.get(option, "")


def _rownum(record: LogRecord, option: str | None) -> str:
    """The row counter, wrapping back to 1 after ``option`` (``%rownum{9999}`` gives 1…9999)."""
    if not option:
        return str(record.row)
    try:
        wrap = int(option)
    except ValueError as error:
        raise PatternError(f"rownum wrap must be a number, not {option!r}") from error
    return str((record.row - 1) % wrap + 1) if wrap > 0 else str(record.row)


_LINE_BREAKS = re.compile(r"\r\n|[\r\n\t]")


def _encode(text: str) -> str:
    """Keep a row on one line: line breaks and tabs become spaces (inferred from Qlik's log rows)."""
    return _LINE_BREAKS.sub(" ", text)


_BUILTIN: dict[str, _Converter] = {
    "date": _date,
    "d": _date,
    "utcdate": _utcdate,
    "level": lambda r, _: r.level,
    "p": lambda r, _: r.level,
    "logger": _logger,
    "c": _logger,
    "message": lambda r, _: r.message,
    "m": lambda r, _: r.message,
    "exception": lambda r, _: r.exception,
    "property": _property,
    "P": _property,
    "newline": lambda r, _: "\r\n",
    "n": lambda r, _: "\r\n",
}

_QLIK_TYPES: dict[str, _Converter] = {
    QLIK_CONVERTERS["rownum"]: _rownum,
    QLIK_CONVERTERS["hostname"]: lambda r, _: r.hostname,
    QLIK_CONVERTERS["longIso8601date"]: _long_iso8601,
    QLIK_CONVERTERS["user"]: lambda r, _: r.service_user,
    QLIK_CONVERTERS["encodedmessage"]: lambda r, _: _encode(r.message),
    QLIK_CONVERTERS["encodedexception"]: lambda r, _: _encode(r.exception),
}


# ---------------------------------------------------------------------------------------- patterns

_Segment = Callable[[LogRecord], str]
_MODIFIER = re.compile(r"(-?)(\d*)(?:\.(\d+))?")


def _converter_table(converters: tuple[tuple[str, str], ...]) -> dict[str, _Converter]:
    table = dict(_BUILTIN)
    table.update({name: _QLIK_TYPES[kind] for name, kind in QLIK_CONVERTERS.items()})
    for name, kind in converters:
        if kind not in _QLIK_TYPES:
            raise PatternError(f"converter {name!r} has unsupported type {kind!r}")
        table[name] = _QLIK_TYPES[kind]
    return table


def _segment(fn: _Converter, option: str | None, left: bool, minimum: int, maximum: int | None) -> _Segment:
    if not minimum and maximum is None:
        if fn is _property and option is not None:
            return lambda record: record.properties.get(option, "")
        return lambda record: fn(record, option)

    def padded(record: LogRecord) -> str:
        text = fn(record, option)
        if maximum is not None and len(text) > maximum:
            text = text[len(text) - maximum :]  # log4net keeps the end of an over-long value
        return text.ljust(minimum) if left else text.rjust(minimum)

    return padded


@lru_cache(maxsize=256)
def _compile(pattern: str, converters: tuple[tuple[str, str], ...]) -> tuple[_Segment, ...]:
    table = _converter_table(converters)
    # log4net converter names are case-sensitive (%p is the level, %P a property); the longest fits.
    names = sorted(table, key=len, reverse=True)
    segments: list[_Segment] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal)
            segments.append(lambda _record: text)
            literal.clear()

    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char != "%":
            literal.append(char)
            i += 1
            continue
        if pattern.startswith("%%", i):
            literal.append("%")
            i += 2
            continue
        modifier = _MODIFIER.match(pattern, i + 1)
        assert modifier is not None  # every part of the modifier is optional
        i = modifier.end()
        name = next((n for n in names if pattern.startswith(n, i)), None)
        if name is None:
            raise PatternError(f"unknown conversion at {pattern[i - 1 : i + 20]!r} in pattern {pattern!r}")
        i += len(name)
        option: str | None = None
        if pattern.startswith("{", i):
            end = pattern.find("}", i)
            if end < 0:
                raise PatternError(f"unterminated {{option}} in pattern {pattern!r}")
            option = pattern[i + 1 : end]
            i = end + 1
        left, minimum, maximum = modifier.groups()
        flush()
        segments.append(
            _segment(table[name], option, bool(left), int(minimum or 0), int(maximum) if maximum else None)
        )
    flush()
    return tuple(segments)


def render(pattern: str, record: LogRecord, converters: Mapping[str, str] | None = None) -> str:
    """Format ``record`` with a log4net conversion pattern.

    ``converters`` maps extra ``%names`` to Qlik converter types, as the ``<converter>`` elements of an
    appender file do; Qlik's usual names (:data:`QLIK_CONVERTERS`) are always known.
    """
    segments = _compile(pattern, tuple(sorted((converters or {}).items())))
    return "".join(segment(record) for segment in segments)


# ---------------------------------------------------------------------------------------- appenders


@dataclass(frozen=True, slots=True)
class StringMatchFilter:
    """log4net ``StringMatchFilter``: a substring (or regex) of the message decides; otherwise neutral."""

    string_to_match: str = ""
    regex_to_match: str = ""
    accept_on_match: bool = True

    def decide(self, message: str) -> bool | None:
        if self.regex_to_match:
            hit = re.search(self.regex_to_match, message) is not None
        else:
            hit = bool(self.string_to_match) and self.string_to_match in message
        return self.accept_on_match if hit else None


@dataclass(frozen=True, slots=True)
class DenyAllFilter:
    """log4net ``DenyAllFilter``: ends a filter chain so that nothing unmatched passes."""

    def decide(self, message: str) -> bool | None:
        return False


LogFilter = StringMatchFilter | DenyAllFilter


@dataclass(frozen=True, slots=True)
class AppenderSpec:
    """One UDP appender of a service's LocalLogConfig.xml."""

    name: str
    service: str
    remote_port: int
    pattern: str
    loggers: tuple[str, ...]
    threshold: str | None = None
    filters: tuple[LogFilter, ...] = ()
    converters: Mapping[str, str] = field(default_factory=dict, compare=False)
    remote_address: str = field(default="", compare=False)

    def covers(self, logger: str) -> bool:
        """True when ``logger`` is one of the referencing loggers or below one in the hierarchy."""
        return any(name == "" or logger == name or logger.startswith(name + ".") for name in self.loggers)

    def accepts(self, record: LogRecord) -> bool:
        """Whether log4net would hand ``record`` to this appender: logger, threshold, filter chain."""
        if not self.covers(record.logger):
            return False
        if self.threshold is not None:
            level = LEVELS.get(record.level.upper())
            if level is None or level < LEVELS[self.threshold.upper()]:
                return False
        for log_filter in self.filters:
            decision = log_filter.decide(record.message)
            if decision is not None:
                return decision
        return True

    def render(self, record: LogRecord) -> str:
        return render(self.pattern, record, self.converters)


def _params(element: ET.Element) -> dict[str, str]:
    """log4net settings of an element: ``<param name="x" value="v"/>`` and ``<x value="v"/>``, any case."""
    values: dict[str, str] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag.lower() == "param" and "name" in child.attrib:
            values[child.attrib["name"].lower()] = child.attrib.get("value", "")
        elif "value" in child.attrib:
            values[child.tag.lower()] = child.attrib["value"]
    return values


_ATTRIBUTE_VALUE = re.compile(r'(=\s*")([^"]*)(")')


def _escape_attribute_values(text: str) -> str:
    """Escape raw ``<``/``>`` inside attribute values (Butler's file ships ``value="<IP of …>"``)."""

    def escape(m: re.Match[str]) -> str:
        value = m.group(2).replace("<", "&lt;").replace(">", "&gt;")
        return m.group(1) + value + m.group(3)

    return _ATTRIBUTE_VALUE.sub(escape, text)


def _read_xml(path: Path) -> ET.Element:
    data = path.read_bytes()
    if len(data) > _MAX_CONFIG_BYTES:
        raise AppenderConfigError(f"{path}: larger than 1 MB; Qlik Sense rejects such files")
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        pass
    try:
        return ET.fromstring(_escape_attribute_values(data.decode("utf-8-sig", errors="replace")))
    except ET.ParseError as error:
        raise AppenderConfigError(f"{path}: not well-formed XML: {error}") from error


def _filter(element: ET.Element, appender_name: str, path: Path) -> LogFilter:
    kind = element.attrib.get("type", "")
    params = _params(element)
    if kind.endswith("DenyAllFilter"):
        return DenyAllFilter()
    if kind.endswith("StringMatchFilter"):
        return StringMatchFilter(
            string_to_match=params.get("stringtomatch", ""),
            regex_to_match=params.get("regextomatch", ""),
            accept_on_match=params.get("acceptonmatch", "true").lower() != "false",
        )
    raise AppenderConfigError(f"{path}: appender {appender_name!r} uses unsupported filter {kind!r}")


def load_appenders(xml_path: str | Path, service: str | None = None) -> list[AppenderSpec]:
    """The UDP appenders of a LocalLogConfig.xml, in file order (other appender types are skipped).

    ``service`` defaults to the name of the folder holding the file (``.../Engine/LocalLogConfig.xml``
    → ``engine``).
    """
    path = Path(xml_path)
    root = _read_xml(path)
    service_name = (service or path.parent.name).lower()
    references: dict[str, list[str]] = {}
    for logger in [*root.iter("logger"), *root.iter("root")]:
        logger_name = logger.attrib.get("name", "") if logger.tag == "logger" else ""
        for ref in logger.iter("appender-ref"):
            references.setdefault(ref.attrib.get("ref", ""), []).append(logger_name)

    specs: list[AppenderSpec] = []
    for element in root.iter("appender"):
        if not element.attrib.get("type", "").endswith("UdpAppender"):
            continue
        name = element.attrib.get("name", "")
        params = _params(element)
        layout = element.find("layout")
        layout_params = _params(layout) if layout is not None else {}
        pattern = layout_params.get("conversionpattern")
        if pattern is None:
            raise AppenderConfigError(f"{path}: appender {name!r} has no conversion pattern")
        try:
            port = int(params.get("remoteport", ""))
        except ValueError as error:
            raise AppenderConfigError(f"{path}: appender {name!r} has no valid remotePort") from error
        converters = {}
        for converter in layout.iter("converter") if layout is not None else ():
            settings = _params(converter)
            converters[settings.get("name", "")] = settings.get("type", "")
        threshold = params.get("threshold")
        if threshold is not None and threshold.upper() not in LEVELS:
            raise AppenderConfigError(f"{path}: appender {name!r} has unknown threshold {threshold!r}")
        specs.append(
            AppenderSpec(
                name=name,
                service=service_name,
                remote_port=port,
                pattern=pattern,
                loggers=tuple(references.get(name, ())),
                threshold=threshold,
                filters=tuple(_filter(f, name, path) for f in element.findall("filter")),
                converters=converters,
                remote_address=params.get("remoteaddress", ""),
            )
        )
    return specs


# ---------------------------------------------------------------------------- the shipped appenders

_ENGINE_LOGGERS = ("Performance.Engine", "System.Engine", "Session.Engine")
_PROXY_LOGGERS = ("Audit.Proxy", "AuditSecurity", "Security.Proxy", "System.Proxy")
_REPOSITORY_LOGGERS = ("Service", "System.Repository", "UserManagement.Repository")
_SCHEDULER_LOGGERS = ("Service", "System.Scheduler")
_TASK_SESSION = "System.Scheduler.Scheduler.Master.Task.TaskSession"
_RELOAD_TASK = "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask"

_LOG_HEAD = "%rownum{9999};%longIso8601date;%date;%level;%hostname;%logger;%user"
_SERVICE_TAIL = (
    "%encodedmessage;%encodedexception;%property{UserDirectory};%property{UserId};"
    "%property{Command};%property{Result};%property{Origin};%property{Context}"
)
_USER_TAIL = (
    "%hostname;%property{Command};%property{UserDirectory};%property{UserId};"
    "%property{Origin};%property{Context};%message"
)
_TASK_TAIL = (
    "%hostname;%property{TaskName};%property{AppName};%property{User};%property{TaskId};"
    "%property{AppId};%date;%level;%property{ExecutionId};%message"
)


def _only(*strings: str) -> tuple[LogFilter, ...]:
    return (*(StringMatchFilter(s) for s in strings), DenyAllFilter())


APPENDERS: list[AppenderSpec] = [
    AppenderSpec(
        name="QixPerf",
        service="engine",
        remote_port=9996,
        threshold="info",
        loggers=("QixPerformance.Engine.Engine",),
        pattern=f"/qseow-qix-perf/;{_LOG_HEAD};%property{{ProxySessionId}};%property{{ActiveUserDirectory}};"
        "%property{ActiveUserId};%property{EngineTimestamp};%property{SessionId};%property{DocId};"
        "%property{RequestId};%property{Method};%property{ProcessTime};%property{WorkTime};"
        "%property{LockTime};%property{ValidateTime};%property{TraverseTime};%property{Handle};"
        "%property{ObjectId};%property{NetRAM};%property{PeakRAM};%property{ObjectType}",
    ),
    AppenderSpec(
        name="LogEvent",
        service="engine",
        remote_port=9996,
        threshold="warn",
        loggers=_ENGINE_LOGGERS,
        pattern=f"/qseow-engine/;{_LOG_HEAD};%encodedmessage;%property{{ProxySessionId}};"
        "%property{ActiveUserDirectory};%property{ActiveUserId};%property{EngineTimestamp};"
        "%property{ProcessId};%property{Exe Version};%property{Server Started};%property{Entry Type};"
        "%property{SessionId};%property{AppId}",
    ),
    AppenderSpec(
        name="EventSession",
        service="proxy",
        remote_port=9997,
        loggers=("AuditActivity.Proxy",),
        filters=_only("Start session for user", "Stop session for user"),
        pattern=f"/qseow-proxy-session/;{_USER_TAIL}",
    ),
    AppenderSpec(
        name="EventConnection",
        service="proxy",
        remote_port=9997,
        loggers=("AuditActivity.Proxy",),
        filters=_only("connection Opened for session", "connection Closed for session"),
        pattern=f"/qseow-proxy-connection/;{_USER_TAIL}",
    ),
    AppenderSpec(
        name="LogEvent",
        service="proxy",
        remote_port=9996,
        threshold="warn",
        loggers=_PROXY_LOGGERS,
        pattern=f"/qseow-proxy/;{_LOG_HEAD};{_SERVICE_TAIL}",
    ),
    AppenderSpec(
        name="LogEvent",
        service="repository",
        remote_port=9996,
        threshold="warn",
        loggers=_REPOSITORY_LOGGERS,
        pattern=f"/qseow-repository/;{_LOG_HEAD};{_SERVICE_TAIL}",
    ),
    AppenderSpec(
        name="LogEvent",
        service="scheduler",
        remote_port=9996,
        threshold="warn",
        loggers=_SCHEDULER_LOGGERS,
        pattern=f"/qseow-scheduler/;{_LOG_HEAD};%encodedmessage;%encodedexception;"
        "%property{UserDirectory};%property{UserId};%property{User};%property{TaskName};"
        "%property{AppName};%property{TaskId};%property{AppId};%property{ExecutionId}",
    ),
    AppenderSpec(
        name="TaskFailLogger",
        service="scheduler",
        remote_port=9998,
        loggers=(_TASK_SESSION,),
        filters=_only(
            "Max retries reached", "Failed to start session", "Could not reserve an executor for task"
        ),
        pattern=f"/scheduler-task-failed/;{_TASK_TAIL}",
    ),
    AppenderSpec(
        name="TaskAbortLogger",
        service="scheduler",
        remote_port=9998,
        loggers=(_TASK_SESSION,),
        filters=_only("Execution State Change to Aborting"),
        pattern=f"/scheduler-task-aborted/;{_TASK_TAIL}",
    ),
    AppenderSpec(
        name="TaskSuccessLogger",
        service="scheduler",
        remote_port=9998,
        loggers=(_TASK_SESSION,),
        filters=_only("Execution State Change to FinishedSuccess"),
        pattern=f"/scheduler-task-success//;{_TASK_TAIL}",  # the stray slash is in Butler's shipped file
    ),
    AppenderSpec(
        name="DistributionTaskLogger",
        service="scheduler",
        remote_port=9998,
        loggers=(_RELOAD_TASK,),
        filters=_only("Exiting execute of Distribute task request."),
        pattern=f"/scheduler-distribute/;{_TASK_TAIL}",
    ),
]


def appender(service: str, name: str) -> AppenderSpec:
    """The built-in appender ``name`` of ``service`` (e.g. ``appender("scheduler", "TaskFailLogger")``)."""
    for spec in APPENDERS:
        if spec.service == service and spec.name == name:
            return spec
    raise KeyError(f"no built-in appender {name!r} for service {service!r}")
