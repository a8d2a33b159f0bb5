"""The template context of a reload alert: Butler's field names (butler.md §7.3), so templates users
wrote for Butler render unchanged.

Times: ``...UTC`` is Qlik's ISO string; ``...Local1`` is ``yyyy-LL-dd HH:mm:ss`` in the configured
zone, ``Local2``–``Local5`` are the short, medium, full and full-with-weekday US English forms Butler's
Luxon formats give (``1/5/2024, 11:20:03 AM``, ``Jan 5, 2024, 11:20 AM``,
``January 5, 2024 at 11:20 AM CET``, ``Friday, January 5, 2024 at 11:20:03 AM CET``). Qlik's null
date (year 1753) and a time that is not known are ``-``; a task without a next execution is
``Never``. Booleans render as ``true``/``false`` as in JavaScript.

Beyond Butler's names the context says what could not be fetched: ``missing`` (list of words such as
``script log``), ``missingText`` (``"script log unavailable"``, empty when nothing is missing) and
``scriptLogAvailable``. When the script log is missing, ``scriptLogHead``/``scriptLogTail`` say so,
so a template written for Butler shows it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from sensebutler import __version__
from sensebutler.alerts.config import AlertsSection, GenericUrl
from sensebutler.alerts.script_log import chat_safe, excerpt
from sensebutler.events.alerts import ExecutionDetail, NameValue, ReloadAlert
from sensebutler.events.monitors import ServerLicenseAlert, ServiceStateChanged

#: QRS ``TaskExecutionStatus`` names (qlik-sense-apis.md §4.2)
STATUS_TEXT = {
    0: "NeverStarted",
    1: "Triggered",
    2: "Started",
    3: "Queued",
    4: "AbortInitiated",
    5: "Aborting",
    6: "Aborted",
    7: "FinishedSuccess",
    8: "FinishedFail",
    9: "Skipped",
    10: "Retry",
    11: "Error",
    12: "Reset",
    13: "DistributionQueue",
    14: "DistributionRunning",
}
NO_TIME = "-"
NEVER = "Never"
SCRIPT_LOG_UNAVAILABLE = "Script log unavailable"

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class JsBool:
    """A boolean that renders as JavaScript does (``true``/``false``) and is falsy in ``{{#if}}``."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = bool(value)

    def __bool__(self) -> bool:
        return self.value

    def __str__(self) -> str:
        return "true" if self.value else "false"

    def __repr__(self) -> str:
        return str(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JsBool):
            return self.value == other.value
        if isinstance(other, bool):
            return self.value == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)


@dataclass(frozen=True, slots=True)
class ContextOptions:
    """What the context takes from config: site URLs, generic URLs and the zone of local times."""

    qmc_url: str = ""
    hub_url: str = ""
    app_base_url: str = ""
    generic_urls: tuple[GenericUrl, ...] = ()
    #: None = this machine's local zone
    time_zone: tzinfo | None = None

    @classmethod
    def from_config(cls, section: AlertsSection) -> ContextOptions:
        return cls(
            qmc_url=section.qlik_urls.qmc,
            hub_url=section.qlik_urls.hub,
            app_base_url=section.qlik_urls.app_base,
            generic_urls=tuple(section.generic_urls),
            time_zone=section.zone(),
        )


def parse_qlik_time(value: str) -> datetime | None:
    """A QRS timestamp as an aware UTC datetime; None for Qlik's null date (1753), empty or bad input."""
    if not value or value.startswith("1753"):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _hour12(moment: datetime) -> tuple[int, str]:
    hour = moment.hour % 12 or 12
    return hour, "AM" if moment.hour < 12 else "PM"


def local_formats(value: str, zone: tzinfo | None) -> tuple[str, str, str, str, str]:
    """Butler's five local forms of a QRS time (all ``-`` when there is no time)."""
    moment = parse_qlik_time(value)
    if moment is None:
        return (NO_TIME,) * 5
    local = moment.astimezone(zone)
    hour, half = _hour12(local)
    month = _MONTHS[local.month - 1]
    abbreviation = local.tzname() or ""
    return (
        local.strftime("%Y-%m-%d %H:%M:%S"),
        f"{local.month}/{local.day}/{local.year}, {hour}:{local.minute:02d}:{local.second:02d} {half}",
        f"{month[:3]} {local.day}, {local.year}, {hour}:{local.minute:02d} {half}",
        f"{month} {local.day}, {local.year} at {hour}:{local.minute:02d} {half} {abbreviation}".rstrip(),
        (
            f"{_DAYS[local.weekday()]}, {month} {local.day}, {local.year} at "
            f"{hour}:{local.minute:02d}:{local.second:02d} {half} {abbreviation}"
        ).rstrip(),
    )


def _time_object(prefix: str, value: str, zone: tzinfo | None) -> dict[str, str]:
    utc = value if parse_qlik_time(value) is not None else NO_TIME
    forms = local_formats(value, zone)
    return {f"{prefix}UTC": utc, **{f"{prefix}Local{n}": form for n, form in enumerate(forms, 1)}}


def _plain_time(value: str) -> str:
    """A date Butler passes through as QRS gives it; Qlik's null date as ``-``."""
    return value if parse_qlik_time(value) is not None else NO_TIME


def _name_values(items: tuple[NameValue, ...]) -> list[dict[str, str]]:
    return [{"name": item.name, "value": item.value} for item in items]


def _details(details: tuple[ExecutionDetail, ...], zone: tzinfo | None) -> list[dict[str, Any]]:
    ordered = sorted(details, key=lambda detail: detail.created)
    return [
        {
            **_time_object("timestamp", detail.created, zone),
            "message": detail.message,
            "detailsType": detail.details_type,
        }
        for detail in ordered
    ]


def details_concatenated(details: tuple[ExecutionDetail, ...]) -> str:
    """``<detailCreatedDate>\\t<message>\\n`` per detail, oldest first."""
    return "".join(f"{d.created}\t{d.message}\n" for d in sorted(details, key=lambda d: d.created))


def missing_text(missing: tuple[str, ...]) -> str:
    return "; ".join(f"{item} unavailable" for item in missing)


def template_context(
    alert: ReloadAlert,
    options: ContextOptions,
    *,
    head_lines: int,
    tail_lines: int,
    chat: Literal["slack", "teams"] | None = None,
) -> dict[str, Any]:
    """Every field a Butler template may use, for one alert and one destination.

    ``chat`` prepares the fields for a JSON template of Slack or Teams: user as ``DIR/user``, script
    log head/tail and ``executionDetailsConcatenated`` escaped and cut (:func:`chat_safe`).
    """
    zone = options.time_zone
    source, task, app, owner, execution = alert.source, alert.task, alert.app, alert.owner, alert.execution
    user = source.user.replace("\\\\", "\\")
    if chat is not None:
        user = user.replace("\\", "/")

    log_fields: dict[str, Any]
    if alert.script_log is not None:
        part = excerpt(alert.script_log, head_lines, tail_lines)
        log_fields = {
            "scriptLogHead": part.head,
            "scriptLogTail": part.tail,
            "scriptLogHeadCount": part.head_count,
            "scriptLogTailCount": part.tail_count,
            "scriptLogSizeRows": part.rows,
            "scriptLogSizeCharacters": part.characters,
        }
    else:
        log_fields = {
            "scriptLogHead": SCRIPT_LOG_UNAVAILABLE,
            "scriptLogTail": SCRIPT_LOG_UNAVAILABLE,
            "scriptLogHeadCount": 0,
            "scriptLogTailCount": 0,
            "scriptLogSizeRows": 0,
            "scriptLogSizeCharacters": 0,
        }
    details = execution.details if execution is not None else ()
    concatenated = details_concatenated(details)
    if chat is not None:
        teams = chat == "teams"
        log_fields["scriptLogHead"] = chat_safe(log_fields["scriptLogHead"], "head", teams)
        log_fields["scriptLogTail"] = chat_safe(log_fields["scriptLogTail"], "tail", teams)
        concatenated = chat_safe(concatenated, "tail", teams)

    duration_ms = execution.duration_ms if execution is not None else 0
    status = execution.status if execution is not None else -1
    base = options.app_base_url.rstrip("/")
    next_execution = task.next_execution if task is not None else ""
    return {
        "hostName": source.host,
        "user": user,
        "taskName": source.task_name,
        "taskId": source.task_id,
        "executionId": source.execution_id,
        "taskCustomProperties": _name_values(task.custom_properties) if task else [],
        "taskTags": list(task.tags) if task else [],
        "taskIsManuallyTriggered": JsBool(task.is_manually_triggered if task else False),
        "taskIsPartialReload": JsBool(task.is_partial_reload if task else False),
        "taskMaxRetries": task.max_retries if task else "",
        "taskModifiedByUsername": task.modified_by_username if task else "",
        "taskModifiedDate": _plain_time(task.modified_date) if task else NO_TIME,
        "taskSessionTimeout": task.session_timeout if task else "",
        "taskNextExecution": (
            NEVER if parse_qlik_time(next_execution) is None else local_formats(next_execution, zone)[0]
        ),
        "appName": source.app_name,
        "appId": source.app_id,
        "appUrl": f"{base}/{source.app_id}" if base and source.app_id else "",
        "appDescription": app.description if app else "",
        "appFileSize": app.file_size if app else "",
        "appLastSuccessfulReload": _plain_time(app.last_reload_time) if app else NO_TIME,
        "appLastModifiedDate": _plain_time(app.modified_date) if app else NO_TIME,
        "appLastModifiedByUserName": app.modified_by_username if app else "",
        "appPublishTime": _plain_time(app.publish_time) if app else NO_TIME,
        "appPublished": JsBool(app.published if app else False),
        "appStreamName": app.stream_name if app else "",
        "appCustomProperties": _name_values(app.custom_properties) if app else [],
        "appTags": list(app.tags) if app else [],
        "appOwnerName": owner.name if owner else "",
        "appOwnerUserId": owner.user_id if owner else "",
        "appOwnerUserDirectory": owner.user_directory if owner else "",
        "appOwnerEmail": owner.emails[0] if owner and owner.emails else "",
        "logTimeStamp": source.log_timestamp,
        "logLevel": source.level,
        "logMessage": source.message,
        "executingNodeName": execution.executing_node_name if execution else "",
        "executionDuration": {
            "hours": duration_ms // 3_600_000,
            "minutes": duration_ms % 3_600_000 // 60_000,
            "seconds": duration_ms % 60_000 // 1000,
        },
        "executionStartTime": _time_object("startTime", execution.start_time if execution else "", zone),
        "executionStopTime": _time_object("stopTime", execution.stop_time if execution else "", zone),
        "executionStatusNum": status if execution else "",
        "executionStatusText": STATUS_TEXT.get(status, "Unknown") if execution else "Unknown",
        "executionDetails": _details(details, zone),
        "executionDetailsConcatenated": concatenated,
        "scriptLogSize": execution.script_log_size if execution else 0,
        **log_fields,
        "qlikSenseQMC": options.qmc_url,
        "qlikSenseHub": options.hub_url,
        "genericUrls": [
            {"id": url.id, "linkText": url.link_text, "comment": url.comment, "url": url.url}
            for url in options.generic_urls
        ],
        "butlerVersion": f"sensebutler {__version__}",
        # not Butler's: what could not be fetched
        "missing": list(alert.missing),
        "missingText": missing_text(alert.missing),
        "scriptLogAvailable": JsBool(alert.script_log is not None),
    }


def service_context(change: ServiceStateChanged, options: ContextOptions) -> dict[str, Any]:
    """Butler's service monitor template fields (butler.md §7.3) with the site's URLs.

    Beyond Butler's names: ``qlikSenseQMC``, ``qlikSenseHub``, ``butlerVersion``, ``serviceNodeName``
    (the QRS node), ``firstCheck`` (the first check after startup found it stopped) and
    ``subjectFallback`` (the plain line sent when a template cannot be rendered).
    """
    context = change.template_context()
    service = change.current
    word = "started" if change.started else "stopped"
    context.update(
        {
            "serviceNodeName": service.node_name,
            "firstCheck": JsBool(change.first_check),
            "qlikSenseQMC": options.qmc_url,
            "qlikSenseHub": options.hub_url,
            "genericUrls": [
                {"id": url.id, "linkText": url.link_text, "comment": url.comment, "url": url.url}
                for url in options.generic_urls
            ],
            "butlerVersion": f"sensebutler {__version__}",
            "subjectFallback": f'Service {word} on host {service.host}: "{service.display_name}"',
        }
    )
    return context


def service_message(context: Mapping[str, Any]) -> str:
    """The plain text of a service alert whose template cannot be rendered."""
    lines = [str(context.get("subjectFallback") or "Qlik Sense service alert")]
    for label, key in (
        ("Service", "serviceName"),
        ("Status", "serviceStatus"),
        ("Previous status", "servicePrevStatus"),
    ):
        value = context.get(key)
        if value not in (None, ""):
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def license_context(alert: ServerLicenseAlert, options: ContextOptions) -> dict[str, Any]:
    """The server licence alert's template fields: Butler's webhook names (butler.md §8.8) and ours.

    ``daysUntilExpiry`` is signed (negative once expired); ``licenseAlert`` is ``expired`` or
    ``expiring``, ``thresholdDays`` the monitor's threshold, ``message`` the plain sentence.
    """
    lic = alert.license
    expired = alert.alert == "expired"
    return {
        "licenseAlert": alert.alert,
        "licenseExpired": JsBool(lic.expired),
        "licenseAlertExpired": JsBool(expired),
        "expiryDateStr": lic.expiry_date,
        "daysUntilExpiry": lic.days_until_expiry,
        "thresholdDays": alert.threshold_days,
        "message": alert.message,
        "qlikSenseQMC": options.qmc_url,
        "qlikSenseHub": options.hub_url,
        "genericUrls": [
            {"id": url.id, "linkText": url.link_text, "comment": url.comment, "url": url.url}
            for url in options.generic_urls
        ],
        "butlerVersion": f"sensebutler {__version__}",
        "subjectFallback": alert.message,
    }


__all__ = [
    "NEVER",
    "NO_TIME",
    "SCRIPT_LOG_UNAVAILABLE",
    "STATUS_TEXT",
    "ContextOptions",
    "JsBool",
    "details_concatenated",
    "license_context",
    "local_formats",
    "missing_text",
    "parse_qlik_time",
    "service_context",
    "service_message",
    "template_context",
]
