"""Which QIX performance events to keep: Butler SOS's ``logEvents.enginePerformanceMonitor``
(butler-sos.md F7, §5).

An event is accepted when the monitor is enabled and it passes the all-apps filter **or** any entry
of the app-specific filter:

* all apps: the app is not in ``appExclude``, and object type and method are allowed;
* app specific: the app is in the entry's ``include`` list, and object type, object id and method
  are allowed.

An app reference with both ``appId`` and ``appName`` needs both to match; ids compare case
insensitively, names exactly (so name references need the app-name lookup). "Allowed" means: when
``all…`` is true, not in the ``…Exclude`` list; otherwise in the ``some…Include`` list.
The activity source (user/non-user) and the app name are set on the event before filtering.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import model_validator

from sensebutler.events.udp import QixPerfEvent
from sensebutler.sources.udp.butler_sos_model import ButlerSosModel, NameValue, NullableList


class AppRef(ButlerSosModel):
    app_id: str | None = None
    app_name: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AppRef:
        if not self.app_id and not self.app_name:
            raise ValueError("an app reference needs appId, appName or both")
        return self


class ObjectTypeFilter(ButlerSosModel):
    all_object_types: bool = True
    all_object_types_exclude: NullableList[str] = []
    some_object_types_include: NullableList[str] = []


class MethodFilter(ButlerSosModel):
    all_methods: bool = True
    all_methods_exclude: NullableList[str] = []
    some_methods_include: NullableList[str] = []


class AppObjectRef(ButlerSosModel):
    object_id: str


class AppObjectFilter(ButlerSosModel):
    all_app_objects: bool = True
    all_app_objects_exclude: NullableList[AppObjectRef] = []
    some_app_objects_include: NullableList[AppObjectRef] = []


class AllAppsFilter(ButlerSosModel):
    enable: bool = False
    app_exclude: NullableList[AppRef] = []
    object_type: ObjectTypeFilter = ObjectTypeFilter()
    method: MethodFilter = MethodFilter()


class AppSpecificEntry(ButlerSosModel):
    include: NullableList[AppRef] = []
    object_type: ObjectTypeFilter = ObjectTypeFilter()
    app_object: AppObjectFilter = AppObjectFilter()
    method: MethodFilter = MethodFilter()


class AppSpecificFilter(ButlerSosModel):
    enable: bool = False
    app: NullableList[AppSpecificEntry] = []


class MonitorFilter(ButlerSosModel):
    all_apps: AllAppsFilter = AllAppsFilter()
    app_specific: AppSpecificFilter = AppSpecificFilter()


class AppNameLookup(ButlerSosModel):
    enable: bool = False


class TrackRejectedEvents(ButlerSosModel):
    enable: bool = False
    tags: NullableList[NameValue] = []


class EnginePerformanceMonitorConfig(ButlerSosModel):
    """``logEvents.enginePerformanceMonitor``."""

    enable: bool = False
    app_name_lookup: AppNameLookup = AppNameLookup()
    track_rejected_events: TrackRejectedEvents = TrackRejectedEvents()
    monitor_filter: MonitorFilter = MonitorFilter()


@dataclass(frozen=True, slots=True)
class _Allowed:
    """Either "everything except ``exclude``" or "only ``include``"."""

    everything: bool
    exclude: frozenset[str]
    include: frozenset[str]

    def __call__(self, value: str) -> bool:
        return value not in self.exclude if self.everything else value in self.include

    @property
    def allows_all(self) -> bool:
        return self.everything and not self.exclude

    @classmethod
    def of_types(cls, f: ObjectTypeFilter) -> _Allowed:
        return cls(
            f.all_object_types, frozenset(f.all_object_types_exclude), frozenset(f.some_object_types_include)
        )

    @classmethod
    def of_methods(cls, f: MethodFilter) -> _Allowed:
        return cls(f.all_methods, frozenset(f.all_methods_exclude), frozenset(f.some_methods_include))

    @classmethod
    def of_objects(cls, f: AppObjectFilter) -> _Allowed:
        return cls(
            f.all_app_objects,
            frozenset(o.object_id for o in f.all_app_objects_exclude),
            frozenset(o.object_id for o in f.some_app_objects_include),
        )


@dataclass(frozen=True, slots=True)
class _Apps:
    refs: tuple[tuple[str, str], ...]  # (lower-case id or "", name or "")

    @classmethod
    def of(cls, refs: list[AppRef]) -> _Apps:
        return cls(tuple(((r.app_id or "").lower(), r.app_name or "") for r in refs))

    def __contains__(self, event: QixPerfEvent) -> bool:
        return any(
            (not app_id or app_id == event.app_id) and (not name or name == event.app_name)
            for app_id, name in self.refs
        )


@dataclass(frozen=True, slots=True)
class _AppSpecific:
    apps: _Apps
    types: _Allowed
    objects: _Allowed
    methods: _Allowed

    def accepts(self, event: QixPerfEvent) -> bool:
        return (
            event in self.apps
            and self.types(event.object_type)
            and self.objects(event.object_id)
            and self.methods(event.method)
        )


class QixPerfFilter:
    """Compiled ``enginePerformanceMonitor`` filter; build once per config."""

    __slots__ = ("_all_apps", "_all_excluded", "_all_methods", "_all_types", "_enabled", "_specific")

    def __init__(self, config: EnginePerformanceMonitorConfig) -> None:
        self._enabled = config.enable
        all_apps = config.monitor_filter.all_apps
        self._all_apps = all_apps.enable
        self._all_excluded = _Apps.of(all_apps.app_exclude)
        self._all_types = _Allowed.of_types(all_apps.object_type)
        self._all_methods = _Allowed.of_methods(all_apps.method)
        specific = config.monitor_filter.app_specific
        self._specific = (
            tuple(
                _AppSpecific(
                    apps=_Apps.of(entry.include),
                    types=_Allowed.of_types(entry.object_type),
                    objects=_Allowed.of_objects(entry.app_object),
                    methods=_Allowed.of_methods(entry.method),
                )
                for entry in specific.app
            )
            if specific.enable
            else ()
        )

    @property
    def accepts_all(self) -> bool:
        """Every event passes: the monitor is on and the all-apps filter excludes nothing."""
        return (
            self._enabled
            and self._all_apps
            and not self._all_excluded.refs
            and self._all_types.allows_all
            and self._all_methods.allows_all
        )

    def accepts(self, event: QixPerfEvent) -> bool:
        """``False`` = rejected (count it when ``trackRejectedEvents`` is on)."""
        if not self._enabled:
            return False
        if (
            self._all_apps
            and event not in self._all_excluded
            and self._all_types(event.object_type)
            and self._all_methods(event.method)
        ):
            return True
        return any(entry.accepts(event) for entry in self._specific)


__all__ = [
    "AllAppsFilter",
    "AppNameLookup",
    "AppObjectFilter",
    "AppObjectRef",
    "AppRef",
    "AppSpecificEntry",
    "AppSpecificFilter",
    "EnginePerformanceMonitorConfig",
    "MethodFilter",
    "MonitorFilter",
    "ObjectTypeFilter",
    "QixPerfFilter",
    "TrackRejectedEvents",
]
