"""The names of alert events: ``<task type>-<outcome>`` as in Butler's template file names.

``reload-failed``, ``reload-aborted``, ``reload-success``, ``distribute-failed``, ``preload-success``,
``external-program-failed``, ``user-sync-success``, ...; the service monitor's ``service-stopped`` and
``service-started``; the server licence's ``server-license-alert`` and the recurring
``server-license-status`` (every check). A destination's config has one
block per event it supports, under the name with ``_`` for ``-`` (``reload_failed``).
"""

from __future__ import annotations

from typing import get_args

from sensebutler.events import Event
from sensebutler.events.alerts import Outcome, ReloadAlert, TaskType
from sensebutler.events.monitors import ServerLicense, ServerLicenseAlert, ServiceStateChanged

TASK_TYPE_SLUGS: dict[TaskType, str] = {
    "reload": "reload",
    "external_program": "external-program",
    "user_sync": "user-sync",
    "distribute": "distribute",
    "preload": "preload",
}

#: every event name, in a stable order
ALL_EVENTS: tuple[str, ...] = tuple(
    f"{TASK_TYPE_SLUGS[task_type]}-{outcome}"
    for task_type in get_args(TaskType)
    for outcome in get_args(Outcome)
)


def event_name(alert: ReloadAlert) -> str:
    """``reload-failed``, ``distribute-success``, ..."""
    return f"{TASK_TYPE_SLUGS[alert.task_type]}-{alert.outcome}"


SERVICE_STOPPED = "service-stopped"
SERVICE_STARTED = "service-started"
SERVER_LICENSE_ALERT = "server-license-alert"
SERVER_LICENSE_STATUS = "server-license-status"


def service_event_name(change: ServiceStateChanged) -> str:
    """``service-started`` for a service that runs again, else ``service-stopped``."""
    return SERVICE_STARTED if change.started else SERVICE_STOPPED


def alert_event_name(event: Event) -> str | None:
    """The alert event of any event an alert destination takes; None for other events."""
    if isinstance(event, ReloadAlert):
        return event_name(event)
    if isinstance(event, ServiceStateChanged):
        return service_event_name(event)
    if isinstance(event, ServerLicenseAlert):
        return SERVER_LICENSE_ALERT
    if isinstance(event, ServerLicense):
        return SERVER_LICENSE_STATUS
    return None


def config_key(event: str) -> str:
    """The config block of an event: ``reload-failed`` -> ``reload_failed``."""
    return event.replace("-", "_")
