"""QIX performance filters (Butler SOS ``logEvents.enginePerformanceMonitor``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from sensebutler.events.udp import QixPerfEvent
from sensebutler.sources.udp import EnginePerformanceMonitorConfig, QixPerfFilter

SALES = "5b817efe-472d-43ce-8a31-6cce34af7de9"
BUDGET = "d7cf16f9-6a95-462a-9ff1-a6d413326de4"
BASKET = "6931136d-c234-4358-a40c-e37153aba7c9"
OTHER = "f42d6b16-8faf-45ca-a783-59f9da47db6e"

ALL_APPS = """
enable: true
appNameLookup: {enable: true}
trackRejectedEvents:
  enable: true
  tags: [{name: qs_env, value: prod}]
monitorFilter:
  allApps:
    enable: true
    appExclude:
      - appId: 5B817EFE-472D-43CE-8A31-6CCE34AF7DE9
      - appName: Inventory analysis
      - appId: f42d6b16-8faf-45ca-a783-59f9da47db6e
        appName: Only with this name
    objectType:
      allObjectTypes: true
      allObjectTypesExclude: [<Unknown>, LoadModelList]
      someObjectTypesInclude: [barchart]
    method:
      allMethods: true
      allMethodsExclude: [Global::OpenApp]
      someMethodsInclude:
  appSpecific:
    enable: false
    app:
"""

APP_SPECIFIC = """
enable: true
monitorFilter:
  allApps:
    enable: false
  appSpecific:
    enable: true
    app:
      - include:
          - appId: d7cf16f9-6a95-462a-9ff1-a6d413326de4
          - appName: Budget 2025
        objectType:
          allObjectTypes: false
          someObjectTypesInclude: [sheet, barchart]
        appObject:
          allAppObjects: true
          allAppObjectsExclude: [{objectId: AaBbCc}]
        method:
          allMethods: false
          someMethodsInclude: [GenericObject::GetLayout]
      - include:
          - appId: 6931136d-c234-4358-a40c-e37153aba7c9
            appName: Sales basket analysis
        appObject:
          allAppObjects: false
          someAppObjectsInclude: [{objectId: YJEpPT}]
"""


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def perf(app_id: str = SALES, app_name: str = "", object_type: str = "barchart", **kw: Any) -> QixPerfEvent:
    values = {"method": "GenericObject::GetLayout", "object_id": "rwPjBk", **kw}
    return QixPerfEvent(app_id=app_id, app_name=app_name, object_type=object_type, **values)


def qix_filter(text: str) -> QixPerfFilter:
    return QixPerfFilter(EnginePerformanceMonitorConfig.model_validate(load(text)))


def test_all_apps_filter() -> None:
    f = qix_filter(ALL_APPS)
    assert f.accepts(perf(app_id=BUDGET))
    assert not f.accepts(perf(app_id=SALES))  # excluded by id (config in upper case)
    assert not f.accepts(perf(app_id=BUDGET, app_name="Inventory analysis"))  # excluded by name
    assert f.accepts(perf(app_id=OTHER, app_name="Another name"))  # id and name must both match
    assert not f.accepts(perf(app_id=OTHER, app_name="Only with this name"))
    assert not f.accepts(perf(app_id=BUDGET, object_type="<Unknown>"))
    assert f.accepts(perf(app_id=BUDGET, object_type="linechart"))  # someObjectTypesInclude is ignored
    assert not f.accepts(perf(app_id=BUDGET, method="Global::OpenApp"))
    assert f.accepts(perf(app_id="", method="Doc::GetAppLayout"))


def test_app_specific_filter() -> None:
    f = qix_filter(APP_SPECIFIC)
    assert f.accepts(perf(app_id=BUDGET, object_type="sheet"))
    assert f.accepts(perf(app_id=SALES, app_name="Budget 2025"))
    assert not f.accepts(perf(app_id=SALES))  # not included
    assert not f.accepts(perf(app_id=BUDGET, object_type="linechart"))  # type not in the include list
    assert not f.accepts(perf(app_id=BUDGET, object_id="AaBbCc"))  # object excluded
    assert not f.accepts(perf(app_id=BUDGET, method="Doc::GetAppLayout"))  # method not included
    # second entry: both id and name, only one object, any type and method
    assert f.accepts(
        perf(app_id=BASKET, app_name="Sales basket analysis", object_id="YJEpPT", object_type="map")
    )
    assert not f.accepts(perf(app_id=BASKET, app_name="Sales basket analysis", object_id="other"))
    assert not f.accepts(perf(app_id=BASKET, app_name="", object_id="YJEpPT"))


def test_all_apps_or_app_specific() -> None:
    data = load(ALL_APPS)
    data["monitorFilter"]["appSpecific"] = load(APP_SPECIFIC)["monitorFilter"]["appSpecific"]
    f = QixPerfFilter(EnginePerformanceMonitorConfig.model_validate(data))
    assert f.accepts(perf(app_id=BUDGET, object_type="map"))  # only all-apps accepts it
    assert f.accepts(
        perf(app_id=SALES, app_name="Budget 2025")
    )  # all-apps excludes it, app-specific includes it
    assert not f.accepts(perf(app_id=SALES, app_name="Other"))  # neither


def test_disabled_monitor_accepts_nothing() -> None:
    data = load(ALL_APPS)
    data["enable"] = False
    assert not QixPerfFilter(EnginePerformanceMonitorConfig.model_validate(data)).accepts(perf(app_id=BUDGET))


def test_enabled_monitor_without_enabled_filters_accepts_nothing() -> None:
    assert not QixPerfFilter(EnginePerformanceMonitorConfig(enable=True)).accepts(perf())


def test_model_keeps_the_other_settings() -> None:
    config = EnginePerformanceMonitorConfig.model_validate(load(ALL_APPS))
    assert config.app_name_lookup.enable is True
    assert config.track_rejected_events.enable is True
    assert [(t.name, t.value) for t in config.track_rejected_events.tags] == [("qs_env", "prod")]
    assert config.monitor_filter.all_apps.method.some_methods_include == []


@pytest.mark.parametrize(
    "bad",
    [
        {"monitorFilter": {"allApps": {"appExclude": [{}]}}},
        {"monitorFilter": {"allApps": {"appExclude": [{"appId": ""}]}}},
        {"monitorFilter": {"allApps": {"objectTypes": {}}}},
        {"monitorFilter": {"appSpecific": {"app": [{"appObject": {"someAppObjectsInclude": ["YJEpPT"]}}]}}},
        {"trackRejectedEvents": {"tags": [{"name": "x"}]}},
    ],
)
def test_invalid_config_is_a_validation_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EnginePerformanceMonitorConfig.model_validate(bad)


def test_butler_sos_template_section_validates_as_is(compat_dir: Path) -> None:
    text = (compat_dir / "butler-sos/production_template.yaml").read_text(encoding="utf-8")
    section = load(text)["Butler-SOS"]["logEvents"]["enginePerformanceMonitor"]
    config = EnginePerformanceMonitorConfig.model_validate(section)
    assert config.enable is False
    assert len(config.monitor_filter.app_specific.app) == 1
    assert config.monitor_filter.app_specific.app[0].include == []
    # switched on as shipped (all apps, nothing excluded) it accepts everything
    data = {**section, "enable": True}
    data["monitorFilter"] = {
        **section["monitorFilter"],
        "allApps": {**section["monitorFilter"]["allApps"], "enable": True},
    }
    f = QixPerfFilter(EnginePerformanceMonitorConfig.model_validate(data))
    assert f.accepts(perf(object_type="<Unknown>", method="Global::OpenApp"))
