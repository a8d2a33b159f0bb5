"""``alerts:`` — which task outcomes become alerts and what every alert shares; plus the base section
of each alert destination (:class:`AlertChannel`: a sink section with one block per alert event).

```yaml
alerts:
  enable: true
  outcomes: [failed, aborted, success]
  task_types: [reload, external_program, user_sync, distribute, preload]
  qlik_urls: {qmc: https://sense.example.com/qmc, hub: https://sense.example.com/hub,
              app_base: https://sense.example.com/sense/app}
  generic_urls: [{id: runbook, link_text: Runbook, url: https://wiki.example.com/qlik}]
  time_zone: Europe/Stockholm      # the zone of the templates' local times; empty = this machine's
  script_log: {attempts: 3}
```
"""

from __future__ import annotations

import zoneinfo
from datetime import tzinfo
from typing import Literal

from pydantic import Field, field_validator

from sensebutler.config.base import FeatureSection, Section
from sensebutler.config.sinks import SinkSection
from sensebutler.events.alerts import Outcome, TaskType


class QlikUrls(Section):
    """Butler's ``qlikSenseUrls``: ``qmc``/``hub`` become ``qlikSenseQMC``/``qlikSenseHub``,
    ``app_base`` + ``/`` + app id becomes ``appUrl``."""

    qmc: str = ""
    hub: str = ""
    app_base: str = ""


class GenericUrl(Section):
    """One of Butler's ``genericUrls`` (``{{#each genericUrls}}`` gives ``id, linkText, comment, url``)."""

    id: str = Field(min_length=1)
    link_text: str = ""
    comment: str = ""
    url: str = Field(min_length=1)


class ScriptLogFetch(Section):
    """How the script log is fetched. Butler waits a fixed 500 ms before each download and 2 s
    between its 3 attempts; here the download is polled with a short, growing delay instead."""

    #: rounds of execution result → log reference → download (a round fails when QRS has no log yet
    #: or answers an error)
    attempts: int = Field(default=3, ge=1, le=10)
    #: pause between rounds
    retry_delay_s: float = Field(default=1.0, ge=0, le=60)
    #: while the download answers 404 (Qlik writes the file out after the task ended), poll it: first
    #: after this long ...
    poll_initial_s: float = Field(default=0.025, gt=0, le=10)
    #: ... doubling up to this ...
    poll_max_s: float = Field(default=0.05, gt=0, le=30)
    #: ... for at most this long per round
    download_wait_s: float = Field(default=5.0, gt=0, le=120)


class RePoll(Section):
    """Re-reading an execution result until Qlik has written its final state (butler.md §7.8)."""

    #: successful reloads: re-read until the last detail says FinishedSuccess, this many times ...
    success_attempts: int = Field(default=5, ge=0, le=50)
    #: ... this far apart
    success_interval_s: float = Field(default=0.5, gt=0, le=60)
    #: distribute tasks still in an intermediate state: re-read every ...
    distribute_interval_s: float = Field(default=30.0, gt=0, le=3600)
    #: ... and give up (with a warning) after
    distribute_max_age_s: float = Field(default=6 * 3600.0, gt=0, le=7 * 86_400)


class AlertsSection(FeatureSection):
    """Turns task events (``udp.task_events``) into alerts for the alert destinations."""

    outcomes: list[Outcome] = ["failed", "aborted", "success"]
    task_types: list[TaskType] = ["reload", "external_program", "user_sync", "distribute", "preload"]
    qlik_urls: QlikUrls = QlikUrls()
    generic_urls: list[GenericUrl] = []
    #: IANA zone of the templates' local times (``startTimeLocal1``...); empty = this machine's zone
    time_zone: str = ""
    script_log: ScriptLogFetch = ScriptLogFetch()
    re_poll: RePoll = RePoll()
    #: enrichment workers: alerts fetched at the same time. Each waits most of its time (QRS answers,
    #: the script log becoming downloadable: ~0.25 s per alert), so 64 sustain well over 50 alerts/s
    workers: int = Field(default=64, ge=1, le=1024)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                hint = "use an IANA name such as Europe/Stockholm"
                raise ValueError(f"unknown time zone {value!r} ({hint})") from exc
        return value

    def zone(self) -> tzinfo | None:
        """The configured zone, or None for this machine's local zone."""
        return zoneinfo.ZoneInfo(self.time_zone) if self.time_zone else None


class AlertEventBlock(Section):
    """One alert event of one destination (Butler's ``reloadTaskFailure`` etc. block).

    A block written in the config is on unless it says ``enable: false``.
    """

    enable: bool = True
    #: Butler's ``rateLimit``: at most one alert per task (per recipient for e-mail) in this many
    #: seconds; 0 = no limit. Kept in the state backend, so it survives restarts.
    rate_limit_s: float = Field(default=300.0, ge=0, le=30 * 86_400)
    #: script log lines in ``scriptLogHead`` / ``scriptLogTail``
    head_lines: int = Field(default=15, ge=0, le=10_000)
    tail_lines: int = Field(default=15, ge=0, le=10_000)
    #: a Handlebars file; empty = sensebutler's own template for this destination and event
    template: str = ""


def _off() -> AlertEventBlock:
    return AlertEventBlock(enable=False)


class AlertChannel(SinkSection):
    """Base of every alert destination's section: a sink section with one block per alert event.

    Destinations declare the events they support as fields named after them (``reload_failed``;
    see :mod:`sensebutler.alerts.event_names`). Failed reloads are on by default; every other event
    is off until its block is written. ``events:`` (the sink's event kinds) defaults to ``reload_alert``.
    """

    reload_failed: AlertEventBlock = AlertEventBlock()
    reload_aborted: AlertEventBlock = Field(default_factory=_off)

    def block(self, event: str) -> AlertEventBlock | None:
        """The enabled block for ``event`` (``reload-failed``), or None when off or not supported."""
        found = getattr(self, event.replace("-", "_"), None)
        return found if isinstance(found, AlertEventBlock) and found.enable else None

    def enabled_events(self) -> list[str]:
        """The events this destination sends (``reload-failed``, ...)."""
        return [
            name.replace("_", "-")
            for name, value in self
            if isinstance(value, AlertEventBlock) and value.enable
        ]


def off() -> AlertEventBlock:
    """A default for an event block that is off until written (for subclasses' fields)."""
    return _off()


ChatKind = Literal["slack", "teams"]

__all__ = [
    "AlertChannel",
    "AlertEventBlock",
    "AlertsSection",
    "ChatKind",
    "GenericUrl",
    "QlikUrls",
    "RePoll",
    "ScriptLogFetch",
    "off",
]
