"""``influxdb:`` — InfluxDB 1.x, 2.x or 3.x with Butler SOS's schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from sensebutler.config.base import Section
from sensebutler.config.sinks import SinkSection, TlsClient


class RetentionPolicy(Section):
    """Written to (``rp=``) and, with ``create_database``, created as the database's default.
    ``name`` empty = write to whatever the database's default retention policy is."""

    name: str = "10d"
    #: InfluxQL duration: ``10d``, ``4w``, ``1h30m``, ``INF`` (keep forever)
    duration: str = Field(default="10d", pattern=r"^(INF|inf|([0-9]+(ns|u|µ|ms|s|m|h|d|w))+)$")


class InfluxV1(Section):
    database: str = "senseops"
    #: basic authentication when set
    username: str = ""
    password: SecretStr | None = None
    retention_policy: RetentionPolicy = RetentionPolicy()
    #: create the database and retention policy at startup when missing
    create_database: bool = True


class InfluxV2(Section):
    org: str = ""
    bucket: str = ""
    token: SecretStr | None = None


class InfluxV3(Section):
    database: str = ""
    #: empty for a server started without authentication
    token: SecretStr | None = None


class IncludeDocFields(Section):
    """Also write the app id/name lists of the ``apps`` measurement (Butler SOS: includeFields)."""

    active_docs: bool = False
    loaded_docs: bool = False
    in_memory_docs: bool = False


class CustomPropertyGate(Section):
    """Write only for tasks whose custom property ``name`` has the value ``value``."""

    enable: bool = False
    name: str = "Butler_SuccessReloadTask_InfluxDB"
    value: str = "Yes"


class TaskPoints(Section):
    """The point of one task outcome (Butler ``influxDb.reloadTaskFailure`` etc.). A block written in
    the config is on unless it says ``enable: false``."""

    enable: bool = True
    #: static tags of this outcome's points (Butler ``tag.static``)
    tags: dict[str, str] = {}
    #: ``appTag_<tag>=true`` for each tag of the app, ``taskTag_<tag>=true`` for each of the task
    use_app_tags: bool = True
    use_task_tags: bool = True
    #: script log lines in ``scriptLog`` / ``reload_log`` (reload tasks only)
    head_lines: int = Field(default=0, ge=0, le=10_000)
    tail_lines: int = Field(default=20, ge=0, le=10_000)


class ReloadSuccessPoints(TaskPoints):
    """Successful reloads are written for every task, or for tasks with a custom property, or not
    at all (Butler ``reloadTaskSuccess.allReloadTasks`` / ``byCustomProperty``)."""

    head_lines: int = Field(default=15, ge=0, le=10_000)
    tail_lines: int = Field(default=25, ge=0, le=10_000)
    all_tasks: bool = False
    by_custom_property: CustomPropertyGate = CustomPropertyGate()


_OFF = TaskPoints(enable=False)


class TaskPointsSection(Section):
    """Task outcomes (``reload_alert`` events from ``alerts:``) as Butler's measurements.

    One block per outcome, named like the alert events (``reload_failed``, ``distribute_success``).
    """

    #: static tags of every task point (Butler ``influxDb.tag.static``)
    tags: dict[str, str] = {}
    reload_failed: TaskPoints = TaskPoints()
    #: ``reload_task_aborted``: sensebutler's own (Butler writes no point for aborted reloads)
    reload_aborted: TaskPoints = _OFF
    #: on, but written only with ``all_tasks`` or ``by_custom_property``
    reload_success: ReloadSuccessPoints = ReloadSuccessPoints()
    external_program_failed: TaskPoints = _OFF
    external_program_success: TaskPoints = _OFF
    user_sync_failed: TaskPoints = _OFF
    user_sync_success: TaskPoints = _OFF
    distribute_failed: TaskPoints = _OFF
    distribute_success: TaskPoints = _OFF
    preload_failed: TaskPoints = _OFF
    preload_success: TaskPoints = _OFF

    def block(self, event: str) -> TaskPoints | None:
        """The enabled block of an alert event (``reload-failed``), None when off or not written."""
        found = getattr(self, event.replace("-", "_"), None)
        return found if isinstance(found, TaskPoints) and found.enable else None


class InfluxDbSection(SinkSection):
    """InfluxDB 1.x, 2.x or 3.x, with Butler SOS's measurement names (see ``docs/influxdb.md``)."""

    version: Literal[1, 2, 3] = 1
    url: str = "http://127.0.0.1:8086"
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: used for ``https://`` URLs: ``ca`` to trust, optional client certificate, ``verify``
    tls: TlsClient = TlsClient()
    v1: InfluxV1 = InfluxV1()
    v2: InfluxV2 = InfluxV2()
    v3: InfluxV3 = InfluxV3()
    include_fields: IncludeDocFields = IncludeDocFields()
    #: also write ``raw_event`` (the whole parsed log event as JSON) as Butler SOS does; off by default:
    #: it repeats the other fields, roughly doubles log-event storage and encoding time
    raw_event: bool = False
    #: ``butler_sos_instance`` tag of the self-metrics measurements
    instance_tag: str = "sensebutler"
    #: task outcomes (failed, aborted, successful reloads and other task types) as Butler writes them
    tasks: TaskPointsSection = TaskPointsSection()

    @model_validator(mode="after")
    def _version_settings_present(self) -> InfluxDbSection:
        if not self.enable:
            return self
        needed: dict[str, object] = {"v1.database": self.v1.database}
        if self.version == 2:
            needed = {"v2.org": self.v2.org, "v2.bucket": self.v2.bucket, "v2.token": self.v2.token}
        elif self.version == 3:
            needed = {"v3.database": self.v3.database}
        missing = [key for key, value in needed.items() if not value]
        if missing:
            raise ValueError(f"version {self.version} needs {', '.join(missing)}")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {self.url!r})")
        if self.tls.enable and not self.url.startswith("https://"):
            raise ValueError("tls.enable is true but url is not https://")
        return self
