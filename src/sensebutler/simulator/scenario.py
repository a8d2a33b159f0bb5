"""The scenario file: what the simulated Qlik Sense site contains.

A scenario is YAML. Entities are listed by name; everything a real site has that a scenario does
not spell out (GUIDs, generated users, dates, licence allocations, counter start values) is drawn
from a random generator seeded with ``seed``, so one scenario and one seed always give the same
site. The default scenario ships with the package (``default_scenario.yaml``, which shows every
key); the models below are the reference, field by field.

Every user has an ``email`` attribute (``<user_id>@<email_domain>`` unless ``email`` is given)
except the first ``users.owners_without_email`` app owners: the owners of the apps in the order
``apps`` lists them, each counted once. In the default scenario it is 0; with 1 the owner of
"Sales dashboard" (anna) has no address while the other owners keep theirs.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

TaskKind = Literal["reload", "external_program", "user_sync", "distribute", "preload"]
Outcome = Literal["success", "failed", "aborted"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeSpec(_Spec):
    name: str
    host_name: str
    central: bool = False
    scheduler: bool = True
    virtual_proxies: list[str] = Field(default_factory=lambda: [""])
    memory_total_mb: float = 32768.0
    cpu_baseline: float = 6.0


class CustomPropertySpec(_Spec):
    name: str
    object_types: list[str]
    choice_values: list[str] = Field(default_factory=list)
    description: str = ""


class UserSpec(_Spec):
    user_id: str
    name: str
    directory: str | None = None
    roles: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    custom_properties: dict[str, list[str]] = Field(default_factory=dict)
    email: str | None = None
    inactive: bool = False


class UsersSpec(_Spec):
    generate: int = 0
    named: list[UserSpec] = Field(default_factory=list)
    inactive: int = 0
    removed_externally: int = 0
    blacklisted: int = 0
    tagged: dict[str, int] = Field(default_factory=dict)
    #: this many app owners have no e-mail attribute: the owners of the apps in the order ``apps``
    #: lists them, each owner counted once (at most every owner). Alerts that mail app owners then
    #: meet an owner they cannot mail next to ones they can.
    owners_without_email: int = Field(default=0, ge=0)


class AppSpec(_Spec):
    name: str
    stream: str | None = None
    owner: str | None = None
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    custom_properties: dict[str, list[str]] = Field(default_factory=dict)
    file_size_mb: float = 5.0
    #: reloads of this app through the engine API (QIX DoReload) fail
    reload_fails: bool = False


class TaskSpec(_Spec):
    name: str
    type: TaskKind = "reload"
    app: str | None = None
    enabled: bool = True
    tags: list[str] = Field(default_factory=list)
    custom_properties: dict[str, list[str]] = Field(default_factory=dict)
    max_retries: int = 0
    session_timeout: int = 1440
    partial: bool = False
    duration: float = 5.0
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    schedule_every: float | None = None
    last_result: Literal["success", "failed", "aborted", "never"] = "success"
    path: str = ""
    parameters: str = ""
    user_directory: str | None = None

    @model_validator(mode="after")
    def _app_when_needed(self) -> TaskSpec:
        if self.type in ("reload", "distribute", "preload") and not self.app:
            raise ValueError(f"task {self.name!r}: a {self.type} task needs an app")
        return self


class LicenseSpec(_Spec):
    serial: str = "9999000000012345"
    name: str = "Example Corp"
    organization: str = "Example Corp"
    product: int = 1
    number_of_cores: int = 16
    valid_days: int = 400


class AllocationSpec(_Spec):
    total: int
    allocated: int
    stale: int = 0
    never_used: int = 0
    quarantined: int = 0

    @model_validator(mode="after")
    def _fits(self) -> AllocationSpec:
        if self.stale + self.never_used > self.allocated:
            raise ValueError("stale + never_used allocations exceed allocated")
        if self.allocated + self.quarantined > self.total:
            raise ValueError("allocated + quarantined exceed total")
        return self


class Scenario(_Spec):
    seed: int = 1
    product_version: str = "14.187.4"
    release_label: str = "May 2024 Patch 4"
    qrs_build_version: str = "34.23.4.0"
    service_account: str = "LAB\\qlikservice"
    user_directory: str = "LAB"
    email_domain: str = "lab.example.com"
    hub_origin: str = "https://qlik.lab.example.com"
    nodes: list[NodeSpec]
    streams: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    custom_properties: list[CustomPropertySpec] = Field(default_factory=list)
    users: UsersSpec = Field(default_factory=UsersSpec)
    apps: list[AppSpec] = Field(default_factory=list)
    session_apps: int = 0
    tasks: list[TaskSpec] = Field(default_factory=list)
    license: LicenseSpec = Field(default_factory=LicenseSpec)
    professional: AllocationSpec | None = None
    analyzer: AllocationSpec | None = None

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems: list[str] = []
        centrals = [node for node in self.nodes if node.central]
        if len(centrals) != 1:
            problems.append("exactly one node must be central")
        if len({node.name for node in self.nodes}) != len(self.nodes):
            problems.append("node names must be unique")
        apps = {app.name for app in self.apps}
        if len(apps) != len(self.apps):
            problems.append("app names must be unique")
        tags = set(self.tags)
        properties = {prop.name for prop in self.custom_properties}
        for app in self.apps:
            if app.stream is not None and app.stream not in self.streams:
                problems.append(f"app {app.name!r}: unknown stream {app.stream!r}")
            problems.extend(_unknown(f"app {app.name!r}", app.tags, tags, app.custom_properties, properties))
        for task in self.tasks:
            if task.app is not None and task.app not in apps:
                problems.append(f"task {task.name!r}: unknown app {task.app!r}")
            problems.extend(
                _unknown(f"task {task.name!r}", task.tags, tags, task.custom_properties, properties)
            )
        for user in self.users.named:
            problems.extend(
                _unknown(f"user {user.user_id!r}", user.tags, tags, user.custom_properties, properties)
            )
        problems.extend(f"users.tagged: unknown tag {tag!r}" for tag in self.users.tagged if tag not in tags)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _unknown(
    what: str, used_tags: list[str], tags: set[str], used_props: dict[str, list[str]], props: set[str]
) -> list[str]:
    return [f"{what}: unknown tag {tag!r}" for tag in used_tags if tag not in tags] + [
        f"{what}: unknown custom property {name!r}" for name in used_props if name not in props
    ]


class ScenarioError(ValueError):
    """The scenario file cannot be read or does not describe a valid site."""


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ScenarioError(f"{source}: {details}") from exc


@cache
def _default_scenario() -> Scenario:
    text = files("sensebutler.simulator").joinpath("default_scenario.yaml").read_text(encoding="utf-8")
    return parse_scenario(text, "default_scenario.yaml")


def load_scenario(path: Path | None) -> Scenario:
    """Read ``path``, or the default scenario shipped with the package when ``path`` is None.

    Scenarios are treated as read-only; the default one is parsed once per process.
    """
    if path is None:
        return _default_scenario()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from exc
    return parse_scenario(text, str(path))
