"""QRS is as strict about filters as Sense: unknown properties and string ordering are 400s.

The schemas must describe what the shapes really emit, or a correct filter would be refused: the
first test walks every entity the default site serves and checks each property against its schema.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

import pytest

from sensebutler.simulator import Simulator
from sensebutler.simulator.model import build_site
from sensebutler.simulator.qrs_filter import parse_filter
from sensebutler.simulator.qrs_schema import FilterSchemaError, check_filter, property_type
from sensebutler.simulator.qrs_tasks import ScriptLogTickets
from sensebutler.simulator.runs import TaskRunner
from sensebutler.simulator.scenario import load_scenario
from sensebutler.simulator.simulator import build_qrs
from sensebutler.simulator.udp import SiteLogs, UdpEmitter, UdpTargets
from tests.simulator.helpers import client, qrs, qrs_json

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _fits(value: Any, declared: Any, where: str) -> None:
    while isinstance(declared, list):
        assert isinstance(value, list) or value is None, f"{where}: a list is declared"
        for index, element in enumerate(value or []):
            _fits(element, declared[0], f"{where}[{index}]")
        return
    if value is None or declared == "opaque":
        return
    if isinstance(declared, Mapping):
        assert isinstance(value, dict), f"{where}: an object is declared, got {value!r}"
        for key, inner in value.items():
            assert key in declared, f"{where}.{key} is emitted but not declared"
            _fits(inner, declared[key], f"{where}.{key}")
        return
    expected: dict[str, Any] = {
        "string": lambda v: isinstance(v, str),
        "guid": lambda v: isinstance(v, str) and bool(_GUID.match(v)),
        "date": lambda v: isinstance(v, str) and bool(_DATE.match(v)),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "enum": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
    }
    assert expected[declared](value), f"{where}: {value!r} is not a {declared}"


async def test_every_emitted_property_is_declared_with_its_type() -> None:
    site = build_site(load_scenario(None), seed=3)
    logs = SiteLogs(UdpEmitter(UdpTargets()), "LAB\\qlikservice")
    runner = TaskRunner(site, logs, random.Random(1))
    runner.seed_history({task.id: "failed" for task in site.tasks.values()})
    running = runner.start(site.task("Reload of Sales dashboard"), duration=30)  # an execution session
    try:
        api = build_qrs(site, runner, ScriptLogTickets(0.1))
        assert set(api.collections) >= {"app", "task", "executionsession", "license/analyzeraccesstype"}
        for name, collection in api.collections.items():
            items = list(collection.items())
            assert items, f"{name} has no entities in the default site: nothing would be checked"
            for item in items:
                _fits(collection.full(item), collection.schema, name)
                if collection.condensed is not None:
                    _fits(collection.condensed(item), collection.schema, f"{name} (condensed)")
        assert running.id in site.execution_sessions
    finally:
        await runner.close()


def test_properties_resolve_case_insensitively_through_collections() -> None:
    site = build_site(load_scenario(None), seed=3)
    api = build_qrs(
        site, TaskRunner(site, SiteLogs(UdpEmitter(UdpTargets()), "x"), random.Random(1)), ScriptLogTickets(0)
    )
    task = api.collections["task"].schema
    assert property_type(task, ("Tags", "Name")) == "string"
    assert property_type(task, ("customProperties", "definition", "name")) == "string"
    assert property_type(task, ("operational", "lastExecutionResult", "status")) == "enum"
    with pytest.raises(FilterSchemaError, match="has no property 'nme'"):
        property_type(task, ("tags", "nme"))
    with pytest.raises(FilterSchemaError):
        check_filter(parse_filter("name gt 'a'"), task)
    check_filter(parse_filter("app eq null and name ne null"), task)


# sensebutler's own filters and the ones Butler sends (shared/reference/qlik-sense-apis.md §4.3)
KEPT = [
    ("/qrs/task", "id eq dec2a02a-1680-44ef-8dc2-e2bfb180af87"),
    ("/qrs/task/full", "tags.name eq 'Butler'"),
    (
        "/qrs/task/full",
        "(customProperties.definition.name eq 'Department') and (customProperties.value eq 'IT')",
    ),
    (
        "/qrs/task/full",
        "id eq dec2a02a-1680-44ef-8dc2-e2bfb180af87 and customProperties.definition.name eq 'x'",
    ),
    ("/qrs/task/full", "operational.lastExecutionResult.status eq FinishedFail"),
    ("/qrs/task/full", "operational.lastExecutionResult.startTime gt '2024-01-01T00:00:00.000Z'"),
    ("/qrs/reloadtask/full", "app.id eq 4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"),
    ("/qrs/app/full", "id eq 4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"),
    ("/qrs/app", "name eq 'Sales dashboard' and fileSize gt 1000 and stream.name sw 'Sal'"),
    ("/qrs/user/full", "userDirectory eq 'LAB' and userId eq 'goran'"),
    ("/qrs/user/full", "attributes.attributeType eq 'email' and tags.name eq 'NeverRelease'"),
    ("/qrs/custompropertydefinition/full", "objectTypes eq 'ReloadTask'"),
    ("/qrs/custompropertydefinition/full", "name eq 'Butler_FailedAlertEnableEmail'"),
    ("/qrs/executionresult/full", "ExecutionId eq dec2a02a-1680-44ef-8dc2-e2bfb180af87"),
    ("/qrs/license/professionalaccesstype/full", "lastUsed le '2024-01-05T10:22:11.123Z'"),
    (
        "/qrs/license/analyzeraccesstype/full",
        "lastUsed ge '2024-01-05T10:22:11.123Z' and quarantined eq false",
    ),
    ("/qrs/servicestatus/full", "serviceType eq Engine and serverNodeConfiguration.hostName so 'qlik'"),
    ("/qrs/tag/full", "name ew 'ops'"),
]


async def test_filters_that_sense_accepts_are_accepted(simulator: Simulator) -> None:
    async with client(simulator) as http:
        for path, text in KEPT:
            response = await qrs(http, simulator, "GET", path, filter=text)
            assert response.status_code == 200, (path, text, response.text)


REFUSED = [
    ("/qrs/task/full", "tag.name eq 'Butler'"),  # the property is tags
    ("/qrs/task/full", "tags.nme eq 'Butler'"),
    ("/qrs/task/full", "customProperty.value eq 'Yes'"),
    ("/qrs/app", "owner.email eq 'anna@lab.example.com'"),
    ("/qrs/user/full", "email eq 'anna@lab.example.com'"),
    ("/qrs/license/professionalaccesstype/full", "lastused le '2024-01-05' or lastUse le '2024-01-05'"),
    ("/qrs/task/full", "name gt 'M'"),  # ordering on a string
    ("/qrs/app/full", "description le 'x'"),
    ("/qrs/app/full", "id lt 4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"),  # ordering on a GUID
    ("/qrs/task/full", "enabled gt false"),
    ("/qrs/task/full", "maxRetries sw '1'"),  # string operator on a number
    ("/qrs/task/full", "app gt 'x'"),  # an object
]


@pytest.mark.parametrize(("path", "text"), REFUSED)
async def test_unknown_property_or_wrong_operator_is_400(simulator: Simulator, path: str, text: str) -> None:
    async with client(simulator) as http:
        response = await qrs(http, simulator, "GET", path, filter=text)
        count = await qrs(http, simulator, "GET", path.removesuffix("/full") + "/count", filter=text)
    assert response.status_code == 400 and response.text == f"Cannot parse the expression: {text}"
    assert count.status_code == 400


async def test_orderby_on_condensed_list_sorts_by_properties_it_does_not_show(simulator: Simulator) -> None:
    async with client(simulator) as http:
        by_size = await qrs_json(http, simulator, "/qrs/app", orderby="fileSize desc")
        by_owner = await qrs_json(http, simulator, "/qrs/app", orderby="owner.userId")
        by_modified = await qrs_json(http, simulator, "/qrs/task", orderby="modifiedDate")
        bad = await qrs(http, simulator, "GET", "/qrs/app", orderby="fileSze")
        sideways = await qrs(http, simulator, "GET", "/qrs/app", orderby="name sideways")
    apps = simulator.model.apps
    assert "fileSize" not in by_size[0]
    sizes = [apps[app["id"]].file_size for app in by_size]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) > 10
    owners = [apps[app["id"]].owner.user_id.lower() for app in by_owner]
    assert owners == sorted(owners) and len(set(owners)) > 3
    tasks = simulator.model.tasks
    modified = [tasks[task["id"]].modified for task in by_modified]
    assert modified == sorted(modified)
    assert bad.status_code == 400 and sideways.status_code == 400
