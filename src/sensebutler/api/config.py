"""``api:`` — the REST API (Butler's ``/v4``): switches per endpoint, keys with scopes, limits.

Every endpoint is off until its switch is on (an endpoint that is off answers 404 and is absent from
the OpenAPI document). Callers present a key from ``keys``; a key's ``scopes`` name the endpoint
switches it may call (``"*"``: all). A config with the API on and no key is refused unless
``allow_anonymous: true`` says that is intended.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from sensebutler.config.base import FeatureSection, Section

#: endpoint switch → the name Butler's ``restServerEndpointsEnable`` uses (what
#: ``GET /v4/configfile/endpointsenabled`` lists)
BUTLER_NAMES: dict[str, str] = {
    "api_list_enabled_endpoints": "apiListEnabledEndpoints",
    "base62_to_base16": "base62ToBase16",
    "base16_to_base62": "base16ToBase62",
    "butlerping": "butlerping",
    "create_dir": "createDir",
    "create_dir_qvd": "createDirQVD",
    "file_delete": "fileDelete",
    "file_move": "fileMove",
    "file_copy": "fileCopy",
    "key_value_store": "keyValueStore",
    "mqtt_publish_message": "mqttPublishMessage",
    "new_relic_metric": "postNewRelicMetric",
    "new_relic_event": "postNewRelicEvent",
    "create_new_schedule": "createNewSchedule",
    "get_schedule": "getSchedule",
    "get_schedule_status_all": "getScheduleStatusAll",
    "delete_schedule": "deleteSchedule",
    "start_schedule": "startSchedule",
    "stop_schedule": "stopSchedule",
    "sense_app_reload": "senseAppReload",
    "sense_app_dump": "senseAppDump",
    "sense_list_apps": "senseListApps",
    "sense_start_task": "senseStartTask",
    "slack_post_message": "slackPostMessage",
    "config_visualisation": "configVisualisation",
    "active_user_count": "activeUserCount",
    "active_users": "activeUsers",
}

ALL_SCOPES = "*"
SCHEDULE_SWITCHES = frozenset(
    {
        "create_new_schedule",
        "get_schedule",
        "get_schedule_status_all",
        "delete_schedule",
        "start_schedule",
        "stop_schedule",
    }
)


class ApiEndpoints(Section):
    """One switch per endpoint (Butler's ``restServerEndpointsEnable``, in snake case); all off by default."""

    api_list_enabled_endpoints: bool = False
    base62_to_base16: bool = False
    base16_to_base62: bool = False
    butlerping: bool = False
    create_dir: bool = False
    create_dir_qvd: bool = False
    file_delete: bool = False
    file_move: bool = False
    file_copy: bool = False
    key_value_store: bool = False
    mqtt_publish_message: bool = False
    new_relic_metric: bool = False
    new_relic_event: bool = False
    create_new_schedule: bool = False
    get_schedule: bool = False
    get_schedule_status_all: bool = False
    delete_schedule: bool = False
    start_schedule: bool = False
    stop_schedule: bool = False
    sense_app_reload: bool = False
    sense_app_dump: bool = False
    sense_list_apps: bool = False
    sense_start_task: bool = False
    slack_post_message: bool = False
    #: the running configuration (secrets masked) as a page and as JSON (Butler's config visualisation)
    config_visualisation: bool = False
    #: Butler's removed ``/v4/activeusercount`` and ``/v4/activeusers``, from the proxy session data
    active_user_count: bool = False
    active_users: bool = False

    def enabled(self) -> list[str]:
        """The switches that are on, in declaration order."""
        return [name for name in type(self).model_fields if getattr(self, name)]


class ApiKey(Section):
    """A caller: its name (logged, never the key), the secret, and the endpoint switches it may call."""

    name: str = Field(min_length=1)
    key: SecretStr
    scopes: list[str] = [ALL_SCOPES]

    @model_validator(mode="after")
    def _check(self) -> ApiKey:
        if len(self.key.get_secret_value()) < 16:
            raise PydanticCustomError("api_key_short", "an API key must be at least 16 characters long")
        unknown = [s for s in self.scopes if s != ALL_SCOPES and s not in BUTLER_NAMES]
        if unknown:
            raise PydanticCustomError(
                "api_scope_unknown",
                "unknown scope(s) {unknown}; a scope is '*' or an endpoint switch name under api.endpoints",
                {"unknown": ", ".join(unknown)},
            )
        return self


class RateLimit(Section):
    """Per client address: a token bucket of ``burst`` requests refilled at ``per_minute``."""

    enable: bool = True
    per_minute: int = Field(default=6000, ge=1)
    burst: int = Field(default=200, ge=1)


class KeyValueStoreConfig(Section):
    #: a POST of a new key into a namespace holding this many keys is refused (400)
    max_keys_per_namespace: int = Field(default=1000, ge=1)
    #: longest value accepted, in bytes (UTF-8)
    max_value_bytes: int = Field(default=65_536, ge=1)


class SchedulerConfig(Section):
    """Butler's cron scheduler: schedules start Qlik Sense tasks."""

    enable: bool = False
    #: Butler's schedule file (``butlerSchedule:`` list); read at start, rewritten after every change
    file: str = "config/schedule.yaml"
    #: the instance holding the leader lease fires schedules; another takes over within this time
    leader_lease_s: float = Field(default=5.0, ge=1.0, le=300.0)
    #: a fire time missed by at most this much (leader change, busy machine) still fires, once
    misfire_grace_s: float = Field(default=15.0, ge=0.0, le=3600.0)
    #: runs kept per schedule (``GET /v4/schedules/{id}/history``)
    history_size: int = Field(default=50, ge=1, le=10_000)


class AllowedCustomProperty(Section):
    name: str = Field(min_length=1)
    value: str


class AllowedTasks(Section):
    """Butler's ``startTaskFilter.allowTask``: each list admits tasks given by that kind of selector."""

    task_id: list[str] = []
    tag: list[str] = []
    custom_property: list[AllowedCustomProperty] = []


class StartTaskFilter(Section):
    """Butler's ``startTaskFilter``: when on, only the listed task ids, tags and custom properties may
    be started through ``/v4/reloadtask/.../start``."""

    enable: bool = False
    allow_task: AllowedTasks = AllowedTasks()


class StartTaskConfig(Section):
    filter: StartTaskFilter = StartTaskFilter()
    #: ``?wait=true`` waits at most this long for the started tasks to finish
    wait_timeout_s: float = Field(default=900.0, gt=0, le=86_400)
    #: how often the execution results are read while waiting
    wait_poll_s: float = Field(default=1.0, gt=0, le=60)


class DirectoryPair(Section):
    from_directory: str = Field(min_length=1)
    to_directory: str = Field(min_length=1)


class FileOperationsConfig(Section):
    """Butler's ``fileCopyApprovedDirectories``, ``fileMoveApprovedDirectories``,
    ``fileDeleteApprovedDirectories`` and ``configDirectories.qvdPath``; empty lists refuse everything.

    ``create_dir_roots`` is new: ``/v4/createdir`` only creates directories under these (Butler: anywhere).
    """

    copy_approved: list[DirectoryPair] = []
    move_approved: list[DirectoryPair] = []
    delete_approved: list[str] = []
    create_dir_roots: list[str] = []
    qvd_path: str | None = None


class EngineConfig(Section):
    """The Qlik Sense engine (QIX websocket) for app reload, app dump and list apps (Butler's
    ``configEngine``); the client certificate is ``qlik.certificates``."""

    #: default: ``qlik.qrs.host``
    host: str = ""
    port: int = Field(default=4747, ge=1, le=65535)
    #: the identity apps are listed, reloaded and dumped as (list apps shows what it may see)
    user_header: str = "UserDirectory=INTERNAL; UserId=sa_api"
    headers: dict[str, str] = {}
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    reload_timeout_s: float = Field(default=3600.0, gt=0, le=86_400)


class MqttTaskStart(Section):
    """Butler's ``mqttConfig.taskStartTopic``: a message holding a task id starts that task (on the
    broker of the ``mqtt:`` section; ``api.start_task.filter`` applies)."""

    enable: bool = False
    topic: str = Field(default="qliksense/start_task", min_length=1)


class SlackMessageConfig(Section):
    """Butler's ``slackNotification.restMessage``: where ``/v4/slackpostmessage`` posts."""

    webhook_url: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class NewRelicPassthrough(Section):
    """Butler's ``restServerEndpointsConfig.newRelic``: which accounts of ``new_relic.accounts``
    (credentials; URLs, headers and timeout from the ``new_relic`` section) get the posted data."""

    event_accounts: list[str] = []
    event_static_attributes: dict[str, str] = {}
    metric_accounts: list[str] = []
    metric_static_attributes: dict[str, str] = {}


class ApiSection(FeatureSection):
    #: the web listener (``web.listeners``) serving the API; its settings give HTTPS and client certificates
    listener: str = "main"
    endpoints: ApiEndpoints = ApiEndpoints()
    keys: list[ApiKey] = []
    #: the API without keys: only for a closed network; must be set explicitly
    allow_anonymous: bool = False
    #: query parameter that may carry the key (Qlik's REST connector cannot always set headers)
    key_query_parameter: str = Field(default="apikey", min_length=1)
    rate_limit: RateLimit = RateLimit()
    #: larger request bodies are refused with 413
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: one log line per mutating call (who, what, answer), on logger ``sensebutler.api.audit``
    audit_log: bool = True
    key_value_store: KeyValueStoreConfig = KeyValueStoreConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    start_task: StartTaskConfig = StartTaskConfig()
    files: FileOperationsConfig = FileOperationsConfig()
    engine: EngineConfig = EngineConfig()
    mqtt_task_start: MqttTaskStart = MqttTaskStart()
    slack_message: SlackMessageConfig = SlackMessageConfig()
    new_relic: NewRelicPassthrough = NewRelicPassthrough()

    @model_validator(mode="after")
    def _keys_or_anonymous(self) -> ApiSection:
        if self.enable and not self.keys and not self.allow_anonymous:
            raise PydanticCustomError(
                "api_keys_missing",
                "api.enable is true but api.keys is empty: add a key (name, key, scopes), "
                "or set allow_anonymous: true to serve the API without keys",
            )
        schedule_switches = [name for name in self.endpoints.enabled() if name in SCHEDULE_SWITCHES]
        if self.enable and schedule_switches and not self.scheduler.enable:
            raise PydanticCustomError(
                "api_scheduler_off",
                "api.endpoints {switches} need the scheduler: set api.scheduler.enable: true",
                {"switches": ", ".join(schedule_switches)},
            )
        keys = [k.key.get_secret_value() for k in self.keys]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError("api_keys_repeated", "two api.keys have the same key")
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise PydanticCustomError("api_key_names_repeated", "api.keys names must be unique")
        return self
