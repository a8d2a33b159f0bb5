"""The simulated site's state: the entities QRS serves and what engines and proxies hold.

Everything here is plain mutable data. Operations that must keep several parts consistent (a task
run, a user session, a licence release) live in their own modules and mutate this state; the API
modules only read it (through :mod:`shapes`).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import TypedDict

from sensebutler.simulator.app_content import AppContent
from sensebutler.simulator.engine import Engine
from sensebutler.simulator.ids import EMPTY_GUID, guid
from sensebutler.simulator.scenario import AllocationSpec, Scenario, TaskSpec
from sensebutler.simulator.timefmt import NEVER, utcnow

REPOSITORY_USER = "INTERNAL\\sa_repository"
SCHEDULER_USER = "INTERNAL\\sa_scheduler"
INTERNAL_ACCOUNTS = ("sa_repository", "sa_scheduler", "sa_engine", "sa_proxy", "sa_api")

TASK_TYPES = {"reload": 0, "external_program": 1, "user_sync": 2, "distribute": 3, "preload": 4}


class Status(IntEnum):
    """QRS ``TaskExecutionStatus``."""

    NEVER_STARTED = 0
    TRIGGERED = 1
    STARTED = 2
    QUEUED = 3
    ABORT_INITIATED = 4
    ABORTING = 5
    ABORTED = 6
    FINISHED_SUCCESS = 7
    FINISHED_FAIL = 8
    SKIPPED = 9
    RETRY = 10
    ERROR = 11
    RESET = 12
    DISTRIBUTION_QUEUE = 13
    DISTRIBUTION_RUNNING = 14


STATUS_NAMES = {status.value: "".join(part.title() for part in status.name.split("_")) for status in Status}


class ServiceType(IntEnum):
    """QRS ``ServiceStatus.serviceType``."""

    REPOSITORY = 0
    PROXY = 1
    SCHEDULER = 2
    ENGINE = 3
    APP_MIGRATION = 4
    PRINTING = 5


class ServiceState(IntEnum):
    """QRS ``ServiceStatus.serviceState``."""

    INITIALIZING = 0
    CERTIFICATES_NOT_INSTALLED = 1
    RUNNING = 2
    NO_COMMUNICATION = 3
    DISABLED = 4
    UNKNOWN = 5


@dataclass(kw_only=True, eq=False)
class Entity:
    id: str
    created: datetime
    modified: datetime
    modified_by: str = REPOSITORY_USER

    def touch(self, by: str, when: datetime | None = None) -> None:
        self.modified = when or utcnow()
        self.modified_by = by


@dataclass(kw_only=True, eq=False)
class Stream(Entity):
    name: str


@dataclass(kw_only=True, eq=False)
class Tag(Entity):
    name: str


@dataclass(kw_only=True, eq=False)
class CustomPropertyDefinition(Entity):
    name: str
    object_types: list[str]
    choice_values: list[str]
    description: str = ""
    value_type: str = "Text"


@dataclass(kw_only=True, eq=False)
class CustomPropertyValue(Entity):
    definition: CustomPropertyDefinition
    value: str


@dataclass(kw_only=True, eq=False)
class UserAttribute(Entity):
    attribute_type: str
    attribute_value: str
    external_id: str = ""


@dataclass(kw_only=True, eq=False)
class User(Entity):
    user_id: str
    directory: str
    name: str
    roles: list[str] = field(default_factory=list)
    attributes: list[UserAttribute] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    custom_properties: list[CustomPropertyValue] = field(default_factory=list)
    inactive: bool = False
    removed_externally: bool = False
    blacklisted: bool = False
    delete_prohibited: bool = False

    @property
    def key(self) -> str:
        return f"{self.directory}\\{self.user_id}"

    @property
    def email(self) -> str | None:
        return next((a.attribute_value for a in self.attributes if a.attribute_type == "email"), None)


@dataclass(kw_only=True, eq=False)
class App(Entity):
    name: str
    owner: User
    stream: Stream | None
    publish_time: datetime
    description: str
    tags: list[Tag]
    custom_properties: list[CustomPropertyValue]
    file_size: int
    last_reload_time: datetime
    saved_in_product_version: str
    migration_hash: str
    availability_status: int = 0
    #: reloads through the engine (QIX ``DoReload``) fail while this is set (scenario or control)
    reload_fails: bool = False

    @property
    def published(self) -> bool:
        return self.stream is not None


@dataclass(kw_only=True, eq=False)
class ExecutionDetail:
    id: str
    details_type: int
    message: str
    created: datetime


@dataclass(kw_only=True, eq=False)
class ExecutionResult(Entity):
    task: Task
    execution_id: str
    node: ServerNode
    status: Status
    start: datetime
    stop: datetime = NEVER
    file_reference_id: str = EMPTY_GUID
    details: list[ExecutionDetail] = field(default_factory=list)
    script_log_location: str = ""
    script_log: str = ""
    script_log_partial: str = ""
    finished: bool = False

    @property
    def duration_ms(self) -> int:
        if self.stop <= self.start:
            return 0
        return int((self.stop - self.start).total_seconds() * 1000)

    @property
    def script_log_size(self) -> int:
        return len(self.script_log.encode("utf-8")) if self.finished else 0


@dataclass(kw_only=True, eq=False)
class ExecutionSession(Entity):
    task: Task
    node: ServerNode
    result: ExecutionResult
    user: str
    retries: int = 0
    abort_reason: int = 0


@dataclass(kw_only=True, eq=False)
class Task(Entity):
    name: str
    kind: str
    app: App | None
    enabled: bool
    tags: list[Tag]
    custom_properties: list[CustomPropertyValue]
    max_retries: int
    session_timeout: int
    partial: bool
    operational_id: str
    duration: float
    fail_rate: float
    schedule_every: float | None
    path: str = ""
    parameters: str = ""
    user_directory: str = ""
    user_directory_id: str = EMPTY_GUID
    is_manually_triggered: bool = False
    history: str = "never"
    last_result: ExecutionResult | None = None
    next_execution: datetime = NEVER
    session: ExecutionSession | None = None

    @property
    def task_type(self) -> int:
        return TASK_TYPES[self.kind]


@dataclass(kw_only=True, eq=False)
class NodeService(Entity):
    """One Windows service on a node; services with a QRS ``serviceType`` also form a ServiceStatus row."""

    windows_name: str
    display_name: str
    key: str
    service_type: ServiceType | None
    running: bool = True
    start_type: int = 2  # sc.exe: 2 AUTO_START


@dataclass(kw_only=True, eq=False)
class ServerNode(Entity):
    name: str
    host_name: str
    central: bool
    scheduler: bool
    virtual_proxies: list[str]
    engine: Engine
    services: dict[str, NodeService] = field(default_factory=dict)
    service_cluster_id: str = EMPTY_GUID

    @property
    def short_name(self) -> str:
        return self.host_name.split(".")[0]


@dataclass(kw_only=True, eq=False)
class License(Entity):
    """The server licence. ``lef``, ``check``, ``key`` and (in :mod:`shapes`) ``keyDetails`` are
    derived from the fields, so changing ``valid_to`` changes every place the expiry shows."""

    serial: str
    name: str
    organization: str
    product: int
    number_of_cores: int
    valid_to: date
    professional: int
    analyzer: int
    signing_seed: str
    force_expired: bool = False

    @property
    def is_expired(self) -> bool:
        return self.force_expired or self.valid_to < utcnow().date()

    def _lef_lines(self) -> list[str]:
        return [
            f"{self.organization};{self.name};;",
            "PRODUCTLEVEL;50;;2099-12-31",
            f"TIMELIMIT;{self.valid_to.isoformat()};;",
            f"PROFESSIONAL;{self.professional};;",
            f"ANALYZER;{self.analyzer};;",
            f"NUMBEROFCORES;{self.number_of_cores};;",
        ]

    @property
    def check(self) -> str:
        """The LEF's control number: changes with any line of it."""
        digest = hashlib.sha256("\n".join([self.signing_seed, *self._lef_lines()]).encode()).hexdigest()
        return digest[:10].upper()

    @property
    def lef(self) -> str:
        return "\r\n".join([*self._lef_lines(), self.check])

    @property
    def key(self) -> str:
        """A signed licence key stand-in: re-signed when the licence changes."""
        digest = hashlib.sha256(f"{self.signing_seed}:{self.lef}".encode()).hexdigest()
        return f"eyJhbGciOiJFUzM4NCJ9.{digest}"


@dataclass(kw_only=True, eq=False)
class Allocation(Entity):
    kind: str  # "professional" or "analyzer"
    user: User
    last_used: datetime
    quarantined: bool = False
    quarantine_end: datetime = NEVER
    excess: bool = False


@dataclass(kw_only=True, eq=False)
class EngineConnection:
    """A websocket connection from a proxy session to an app: one engine session."""

    id: str
    app_id: str
    opened: datetime
    last_active: datetime


@dataclass(kw_only=True, eq=False)
class ProxySession:
    id: str
    node: ServerNode
    virtual_proxy: str
    user: User
    user_agent: str
    created: datetime
    attributes: list[dict[str, str]] = field(default_factory=list)
    connections: dict[str, EngineConnection] = field(default_factory=dict)


@dataclass(kw_only=True, eq=False)
class AppReload:
    """One reload run through the engine API (not a task): what ``DoReload`` did."""

    id: str
    app: App
    node: ServerNode
    user: str
    start: datetime
    stop: datetime
    success: bool
    partial: bool
    mode: int
    script_log_file: str
    script_log: str


@dataclass(kw_only=True, eq=False)
class ExtraEngine:
    """A lightweight engine-only node for benchmarks that poll hundreds of servers."""

    name: str
    host_name: str
    engine: Engine


# Windows services per node: (key, windows name, display name, QRS serviceType, only on central)
_SERVICES: tuple[tuple[str, str, str, ServiceType | None, bool], ...] = (
    ("database", "QlikSenseRepositoryDatabase", "Qlik Sense Repository Database", None, True),
    ("dispatcher", "QlikSenseServiceDispatcher", "Qlik Sense Service Dispatcher", None, False),
    (
        "repository",
        "QlikSenseRepositoryService",
        "Qlik Sense Repository Service",
        ServiceType.REPOSITORY,
        False,
    ),
    ("engine", "QlikSenseEngineService", "Qlik Sense Engine Service", ServiceType.ENGINE, False),
    ("printing", "QlikSensePrintingService", "Qlik Sense Printing Service", ServiceType.PRINTING, False),
    ("proxy", "QlikSenseProxyService", "Qlik Sense Proxy Service", ServiceType.PROXY, False),
    ("scheduler", "QlikSenseSchedulerService", "Qlik Sense Scheduler Service", ServiceType.SCHEDULER, False),
)

_FIRST_NAMES = (
    "Adam",
    "Alice",
    "Amir",
    "Ana",
    "Ben",
    "Carla",
    "Chen",
    "Daniel",
    "Diana",
    "Elena",
    "Emil",
    "Eva",
    "Farah",
    "Felix",
    "Fatima",
    "Gustav",
    "Hanna",
    "Hugo",
    "Ida",
    "Ivan",
    "Jonas",
    "Julia",
    "Karin",
    "Kenji",
    "Lars",
    "Lea",
    "Liam",
    "Linnea",
    "Lucas",
    "Maja",
    "Marco",
    "Maria",
    "Mehmet",
    "Mia",
    "Nils",
    "Nora",
    "Olga",
    "Oscar",
    "Paula",
    "Pedro",
    "Rania",
    "Robin",
    "Sara",
    "Simon",
    "Sofia",
    "Tariq",
    "Tove",
    "Viktor",
    "Wei",
    "Yusuf",
    "Zoe",
)
_LAST_NAMES = (
    "Andersson",
    "Berg",
    "Costa",
    "Dahl",
    "Eriksson",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ibrahim",
    "Jensen",
    "Johansson",
    "Kowalski",
    "Larsen",
    "Lindberg",
    "Lopez",
    "Martin",
    "Moreau",
    "Nguyen",
    "Nilsson",
    "Novak",
    "Olsen",
    "Patel",
    "Persson",
    "Rossi",
    "Schmidt",
    "Silva",
    "Smith",
    "Svensson",
    "Tanaka",
    "Torres",
    "Virtanen",
    "Wagner",
    "Weber",
    "Wong",
    "Yilmaz",
    "Zhang",
)


@dataclass
class Site:
    """The whole simulated Qlik Sense site."""

    scenario: Scenario
    rng: random.Random
    started: datetime
    nodes: list[ServerNode] = field(default_factory=list)
    extra_engines: list[ExtraEngine] = field(default_factory=list)
    streams: dict[str, Stream] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    custom_property_definitions: dict[str, CustomPropertyDefinition] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    execution_results: dict[str, ExecutionResult] = field(default_factory=dict)
    execution_sessions: dict[str, ExecutionSession] = field(default_factory=dict)
    allocations: dict[str, Allocation] = field(default_factory=dict)
    proxy_sessions: dict[str, ProxySession] = field(default_factory=dict)
    #: app id -> what the engine shows inside the app (built on first use, see app_content)
    app_contents: dict[str, AppContent] = field(default_factory=dict)
    app_reloads: list[AppReload] = field(default_factory=list)
    license: License | None = None
    about_id: str = EMPTY_GUID

    @property
    def central(self) -> ServerNode:
        return next(node for node in self.nodes if node.central)

    def node(self, name: str) -> ServerNode:
        """A node by name or host name (case-insensitive)."""
        wanted = name.lower()
        for node in self.nodes:
            if wanted in (node.name.lower(), node.host_name.lower(), node.short_name.lower()):
                return node
        raise KeyError(name)

    def app_by_name(self, name: str) -> App:
        return next(app for app in self.apps.values() if app.name == name)

    def user_by_key(self, directory: str, user_id: str) -> User | None:
        for user in self.users.values():
            if user.directory.lower() == directory.lower() and user.user_id.lower() == user_id.lower():
                return user
        return None

    def task(self, id_or_name: str) -> Task:
        """A task by GUID or exact name."""
        found = self.tasks.get(id_or_name.lower())
        if found is not None:
            return found
        for task in self.tasks.values():
            if task.name == id_or_name:
                return task
        raise KeyError(id_or_name)

    def engine_hosts(self) -> list[tuple[str, Engine]]:
        return [(node.host_name, node.engine) for node in self.nodes] + [
            (extra.host_name, extra.engine) for extra in self.extra_engines
        ]


class _Dates(TypedDict):
    created: datetime
    modified: datetime


class _Builder:
    """Turns a scenario into a :class:`Site`; all randomness comes from one seeded generator."""

    def __init__(self, scenario: Scenario, seed: int, extra_engines: int) -> None:
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.now = utcnow()
        self.site = Site(scenario=scenario, rng=random.Random(self.rng.getrandbits(64)), started=self.now)
        self.extra_engines = extra_engines

    def guid(self) -> str:
        return guid(self.rng)

    def past(self, low_days: float, high_days: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(low_days, high_days))

    def entity_dates(self) -> _Dates:
        created = self.past(200, 900)
        modified = created + (self.now - created) * self.rng.uniform(0.1, 0.95)
        return {"created": created, "modified": modified}

    def build(self) -> Site:
        site = self.site
        site.about_id = self.guid()
        self.build_nodes()
        for name in self.scenario.streams:
            site.streams[name] = Stream(id=self.guid(), name=name, **self.entity_dates())
        for name in self.scenario.tags:
            site.tags[name] = Tag(id=self.guid(), name=name, **self.entity_dates())
        for spec in self.scenario.custom_properties:
            site.custom_property_definitions[spec.name] = CustomPropertyDefinition(
                id=self.guid(),
                name=spec.name,
                object_types=list(spec.object_types),
                choice_values=list(spec.choice_values),
                description=spec.description,
                **self.entity_dates(),
            )
        self.build_users()
        self.build_apps()
        for task_spec in self.scenario.tasks:
            self.build_task(task_spec)
        self.build_license()
        if self.scenario.professional is not None:
            self.build_allocations("professional", self.scenario.professional)
        if self.scenario.analyzer is not None:
            self.build_allocations("analyzer", self.scenario.analyzer)
        self.warm_engines()
        return site

    def build_nodes(self) -> None:
        cluster = self.guid()
        version = self.scenario.product_version
        for spec in self.scenario.nodes:
            engine = Engine(
                version=version,
                seed=self.rng.getrandbits(64),
                started=self.past(0.5, 20),
                memory_total_mb=spec.memory_total_mb,
                cpu_baseline=spec.cpu_baseline,
            )
            node = ServerNode(
                id=self.guid(),
                name=spec.name,
                host_name=spec.host_name,
                central=spec.central,
                scheduler=spec.scheduler,
                virtual_proxies=list(spec.virtual_proxies),
                engine=engine,
                service_cluster_id=cluster,
                **self.entity_dates(),
            )
            for key, windows, display, service_type, central_only in _SERVICES:
                if central_only and not spec.central:
                    continue
                if key == "scheduler" and not spec.scheduler:
                    continue
                node.services[key] = NodeService(
                    id=self.guid(),
                    key=key,
                    windows_name=windows,
                    display_name=display,
                    service_type=service_type,
                    created=engine.started,
                    modified=engine.started,
                )
            self.site.nodes.append(node)
        for index in range(self.extra_engines):
            engine = Engine(
                version=version,
                seed=self.rng.getrandbits(64),
                started=self.past(0.5, 30),
                memory_total_mb=self.rng.choice((16384.0, 32768.0, 65536.0)),
                cpu_baseline=self.rng.uniform(2, 30),
                synthetic=True,
            )
            name = f"engine{index + 1:03d}"
            self.site.extra_engines.append(
                ExtraEngine(name=name, host_name=f"{name}.{self.scenario.email_domain}", engine=engine)
            )

    def custom_values(self, values: dict[str, list[str]]) -> list[CustomPropertyValue]:
        result: list[CustomPropertyValue] = []
        for name, choices in values.items():
            definition = self.site.custom_property_definitions[name]
            for value in choices:
                result.append(
                    CustomPropertyValue(
                        id=self.guid(), definition=definition, value=value, **self.entity_dates()
                    )
                )
        return result

    def email_attribute(self, address: str, when: datetime) -> UserAttribute:
        return UserAttribute(
            id=self.guid(),
            attribute_type="email",
            attribute_value=address,
            external_id="",
            created=when,
            modified=when,
        )

    def add_user(self, user: User) -> User:
        self.site.users[user.id] = user
        return user

    def build_users(self) -> None:
        scenario = self.scenario
        for account in INTERNAL_ACCOUNTS:
            self.add_user(
                User(
                    id=self.guid(),
                    user_id=account,
                    directory="INTERNAL",
                    name=account,
                    delete_prohibited=True,
                    **self.entity_dates(),
                )
            )
        taken: set[str] = set()
        for spec in scenario.users.named:
            dates = self.entity_dates()
            user = User(
                id=self.guid(),
                user_id=spec.user_id,
                directory=spec.directory or scenario.user_directory,
                name=spec.name,
                roles=list(spec.roles),
                tags=[self.site.tags[tag] for tag in spec.tags],
                custom_properties=self.custom_values(spec.custom_properties),
                inactive=spec.inactive,
                **dates,
            )
            email = spec.email or f"{spec.user_id}@{scenario.email_domain}"
            user.attributes.append(self.email_attribute(email, dates["modified"]))
            taken.add(spec.user_id)
            self.add_user(user)
        generated: list[User] = []
        for _ in range(scenario.users.generate):
            first, last = self.rng.choice(_FIRST_NAMES), self.rng.choice(_LAST_NAMES)
            base = f"{first[0]}{last}".lower()
            user_id, suffix = base, 2
            while user_id in taken:
                user_id, suffix = f"{base}{suffix}", suffix + 1
            taken.add(user_id)
            dates = self.entity_dates()
            user = User(
                id=self.guid(),
                user_id=user_id,
                directory=scenario.user_directory,
                name=f"{first} {last}",
                **dates,
            )
            user.attributes.append(
                self.email_attribute(f"{first}.{last}@{scenario.email_domain}".lower(), dates["modified"])
            )
            generated.append(self.add_user(user))
        flags = (
            ("inactive", scenario.users.inactive),
            ("removed_externally", scenario.users.removed_externally),
            ("blacklisted", scenario.users.blacklisted),
        )
        for flag, count in flags:
            for user in self.rng.sample(generated, min(count, len(generated))):
                setattr(user, flag, True)
        for tag_name, count in scenario.users.tagged.items():
            for user in self.rng.sample(generated, min(count, len(generated))):
                user.tags.append(self.site.tags[tag_name])

    def people(self) -> list[User]:
        return [user for user in self.site.users.values() if user.directory != "INTERNAL"]

    def build_apps(self) -> None:
        people = self.people()
        by_id = {user.user_id: user for user in people}
        for spec in self.scenario.apps:
            dates = self.entity_dates()
            stream = self.site.streams[spec.stream] if spec.stream else None
            owner = by_id[spec.owner] if spec.owner in by_id else self.rng.choice(people)
            app = App(
                id=self.guid(),
                name=spec.name,
                owner=owner,
                stream=stream,
                publish_time=dates["created"] + timedelta(days=1) if stream else NEVER,
                description=spec.description,
                tags=[self.site.tags[tag] for tag in spec.tags],
                custom_properties=self.custom_values(spec.custom_properties),
                file_size=int(spec.file_size_mb * 1024 * 1024) + self.rng.randrange(0, 65536),
                last_reload_time=self.past(1, 30),
                saved_in_product_version="12.1857.4",
                migration_hash=f"{self.rng.getrandbits(160):040x}",
                reload_fails=spec.reload_fails,
                **dates,
            )
            self.site.apps[app.id] = app
        owners = list(dict.fromkeys(app.owner for app in self.site.apps.values()))
        for owner in owners[: self.scenario.users.owners_without_email]:
            owner.attributes = [a for a in owner.attributes if a.attribute_type != "email"]

    def build_task(self, spec: TaskSpec) -> None:
        app = self.site.app_by_name(spec.app) if spec.app else None
        task = Task(
            id=self.guid(),
            name=spec.name,
            kind=spec.type,
            app=app,
            enabled=spec.enabled,
            tags=[self.site.tags[tag] for tag in spec.tags],
            custom_properties=self.custom_values(spec.custom_properties),
            max_retries=spec.max_retries,
            session_timeout=spec.session_timeout,
            partial=spec.partial,
            operational_id=self.guid(),
            duration=spec.duration,
            fail_rate=spec.fail_rate,
            schedule_every=spec.schedule_every,
            history=spec.last_result,
            path=spec.path,
            parameters=spec.parameters,
            user_directory=spec.user_directory or "",
            user_directory_id=self.guid() if spec.user_directory else EMPTY_GUID,
            **self.entity_dates(),
        )
        if spec.schedule_every is not None and spec.enabled:
            task.next_execution = self.now + timedelta(seconds=self.rng.uniform(0, spec.schedule_every))
        self.site.tasks[task.id] = task

    def build_license(self) -> None:
        spec = self.scenario.license
        control = f"{self.rng.getrandbits(40):010X}"  # drawn in this order to keep seeded sites as before
        self.site.license = License(
            id=self.guid(),
            serial=spec.serial,
            name=spec.name,
            organization=spec.organization,
            product=spec.product,
            number_of_cores=spec.number_of_cores,
            valid_to=(self.now + timedelta(days=spec.valid_days)).date(),
            professional=self.scenario.professional.total if self.scenario.professional else 0,
            analyzer=self.scenario.analyzer.total if self.scenario.analyzer else 0,
            signing_seed=f"{control}{self.rng.getrandbits(256):064x}",
            **self.entity_dates(),
        )

    def build_allocations(self, kind: str, spec: AllocationSpec) -> None:
        holders = {allocation.user.id for allocation in self.site.allocations.values()}
        people = [user for user in self.people() if user.id not in holders]
        named = [user for user in people if user.roles]
        others = [user for user in people if not user.roles]
        self.rng.shuffle(others)
        chosen = (named + others)[: spec.allocated + spec.quarantined]
        for index, user in enumerate(chosen):
            if index < spec.allocated - spec.stale - spec.never_used:
                last_used = self.past(0, 20)
            elif index < spec.allocated - spec.never_used:
                last_used = self.past(60, 400)
            elif index < spec.allocated:
                last_used = NEVER
            else:
                last_used = self.past(0, 5)
            dates = self.entity_dates()
            allocation = Allocation(id=self.guid(), kind=kind, user=user, last_used=last_used, **dates)
            if index >= spec.allocated:
                allocation.quarantined = True
                allocation.quarantine_end = self.now + timedelta(days=self.rng.uniform(1, 7))
            self.site.allocations[allocation.id] = allocation

    def warm_engines(self) -> None:
        apps = list(self.site.apps.values())
        session_apps = [f"SessionApp_{self.guid()}" for _ in range(self.scenario.session_apps)]
        for node in self.site.nodes:
            sample = self.rng.sample(apps, min(len(apps), self.rng.randint(2, 5)))
            node.engine.warm([app.id for app in sample], session_apps, self.now)
        for extra in self.site.extra_engines:
            sample = self.rng.sample(apps, min(len(apps), self.rng.randint(1, 6)))
            extra.engine.warm([app.id for app in sample], session_apps[:1], self.now)


def build_site(scenario: Scenario, seed: int | None = None, extra_engines: int = 0) -> Site:
    """A fresh site from ``scenario``; ``seed`` overrides the scenario's own seed."""
    return _Builder(scenario, scenario.seed if seed is None else seed, extra_engines).build()
