"""The properties of each QRS entity type, with their types, so filters are checked as QRS checks them.

QRS evaluates ``filter=`` and ``orderby=`` against its entity model, not against the JSON it happens
to return: a property the entity does not have is a 400, and the relational operators are valid only
for some types (Qlik's "Filtering" page: ``gt``/``ge``/``lt``/``le`` for numbers, enums and dates, not
for strings or GUIDs; ``sw``/``ew``/``so`` for strings only). Without this check a mistyped filter
(``tag.name``, ``lastUsed lt 'yesterday'``) would answer 200 with an empty or arbitrary list in tests
and select nothing in production.

A schema is a dict of property name → type, where a type is a :data:`Scalar` name, a nested schema
(a sub-object) or a one-element list holding the element type (a collection). The schemas follow the
shapes in :mod:`shapes`; ``tests/simulator/test_qrs_schema.py`` checks that every property a shape
emits is declared here with a matching type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from sensebutler.simulator.qrs_filter import And, Clause, Filter, Node, Or

Scalar = Literal["string", "guid", "date", "number", "enum", "bool", "opaque"]
Schema = Mapping[str, Any]  # name -> Scalar | Schema | list[Scalar | Schema]

#: which operators each scalar type allows (Qlik's "Filtering" page; "opaque": only compared with null)
ALLOWED_OPERATORS: dict[str, frozenset[str]] = {
    "string": frozenset({"eq", "ne", "sw", "ew", "so"}),
    "guid": frozenset({"eq", "ne"}),
    "bool": frozenset({"eq", "ne"}),
    "date": frozenset({"eq", "ne", "gt", "ge", "lt", "le"}),
    "number": frozenset({"eq", "ne", "gt", "ge", "lt", "le"}),
    "enum": frozenset({"eq", "ne", "gt", "ge", "lt", "le"}),
    "opaque": frozenset({"eq", "ne"}),
}

PRIVILEGES: list[Any] = ["string"]

AUDIT: Schema = {
    "id": "guid",
    "createdDate": "date",
    "modifiedDate": "date",
    "modifiedByUserName": "string",
    "schemaPath": "string",
    "privileges": PRIVILEGES,
}

TAG_CONDENSED: Schema = {"id": "guid", "name": "string", "privileges": PRIVILEGES}
TAG: Schema = {**AUDIT, "name": "string"}
STREAM_CONDENSED: Schema = {"id": "guid", "name": "string", "privileges": PRIVILEGES}
DEFINITION_CONDENSED: Schema = {
    "id": "guid",
    "name": "string",
    "valueType": "string",
    "choiceValues": ["string"],
    "privileges": PRIVILEGES,
}
DEFINITION: Schema = {
    **AUDIT,
    "name": "string",
    "valueType": "string",
    "choiceValues": ["string"],
    "objectTypes": ["string"],
    "description": "string",
}
CUSTOM_VALUE: Schema = {**AUDIT, "value": "string", "definition": DEFINITION_CONDENSED}
STREAM: Schema = {**AUDIT, "name": "string", "customProperties": [CUSTOM_VALUE], "tags": [TAG_CONDENSED]}
USER_CONDENSED: Schema = {
    "id": "guid",
    "userId": "string",
    "userDirectory": "string",
    "userDirectoryConnectorName": "string",
    "name": "string",
    "privileges": PRIVILEGES,
}
USER: Schema = {
    **AUDIT,
    "customProperties": [CUSTOM_VALUE],
    "userId": "string",
    "userDirectory": "string",
    "userDirectoryConnectorName": "string",
    "name": "string",
    "roles": ["string"],
    "attributes": [{**AUDIT, "attributeType": "string", "attributeValue": "string", "externalId": "string"}],
    "inactive": "bool",
    "removedExternally": "bool",
    "blacklisted": "bool",
    "deleteProhibited": "bool",
    "tags": [TAG_CONDENSED],
    "favorites": ["opaque"],
}
APP_CONDENSED: Schema = {
    "id": "guid",
    "name": "string",
    "appId": "string",
    "publishTime": "date",
    "published": "bool",
    "stream": STREAM_CONDENSED,
    "savedInProductVersion": "string",
    "migrationHash": "string",
    "availabilityStatus": "enum",
    "privileges": PRIVILEGES,
}
APP: Schema = {
    **AUDIT,
    "customProperties": [CUSTOM_VALUE],
    "owner": USER_CONDENSED,
    "name": "string",
    "appId": "string",
    "sourceAppId": "guid",
    "targetAppId": "guid",
    "publishTime": "date",
    "published": "bool",
    "tags": [TAG_CONDENSED],
    "description": "string",
    "stream": STREAM_CONDENSED,
    "fileSize": "number",
    "lastReloadTime": "date",
    "thumbnail": "string",
    "savedInProductVersion": "string",
    "migrationHash": "string",
    "dynamicColor": "string",
    "availabilityStatus": "enum",
    "lastDataDistribution": "opaque",
}
_DETAIL: Schema = {
    "id": "guid",
    "detailsType": "enum",
    "message": "string",
    "detailCreatedDate": "date",
    "privileges": PRIVILEGES,
}
_RESULT_BODY: Schema = {
    "executingNodeName": "string",
    "status": "enum",
    "startTime": "date",
    "stopTime": "date",
    "duration": "number",
    "fileReferenceID": "guid",
    "scriptLogAvailable": "bool",
    "details": [_DETAIL],
    "scriptLogLocation": "string",
    "scriptLogSize": "number",
}
RESULT_CONDENSED: Schema = {"id": "guid", "privileges": PRIVILEGES, **_RESULT_BODY}
RESULT: Schema = {
    **AUDIT,
    "taskID": "guid",
    "executionID": "guid",
    "appID": "guid",
    "executingNodeID": "guid",
    **_RESULT_BODY,
}
_OPERATIONAL: Schema = {
    "id": "guid",
    "lastExecutionResult": RESULT_CONDENSED,
    "nextExecution": "date",
    "privileges": PRIVILEGES,
}
TASK_CONDENSED: Schema = {
    "id": "guid",
    "name": "string",
    "taskType": "enum",
    "enabled": "bool",
    "taskSessionTimeout": "number",
    "maxRetries": "number",
    "operational": _OPERATIONAL,
    "privileges": PRIVILEGES,
}
_TASK_COMMON: Schema = {
    **AUDIT,
    "customProperties": [CUSTOM_VALUE],
    "name": "string",
    "taskType": "enum",
    "enabled": "bool",
    "taskSessionTimeout": "number",
    "maxRetries": "number",
    "tags": [TAG_CONDENSED],
    "isManuallyTriggered": "bool",
    "operational": _OPERATIONAL,
}
RELOAD_TASK: Schema = {
    **_TASK_COMMON,
    "app": APP_CONDENSED,
    "isPartialReload": "bool",
    "preloadNodes": ["opaque"],
}
EXTERNAL_PROGRAM_TASK: Schema = {
    **_TASK_COMMON,
    "path": "string",
    "parameters": "string",
    "qlikUser": USER_CONDENSED,
}
USER_SYNC_TASK: Schema = {
    **_TASK_COMMON,
    "userDirectory": {
        "id": "guid",
        "name": "string",
        "userDirectoryName": "string",
        "configured": "bool",
        "operational": "bool",
        "type": "string",
        "syncOnlyLoggedInUsers": "bool",
        "privileges": PRIVILEGES,
    },
}
#: ``/qrs/task`` lists every task type as its derived object, so it accepts each type's properties
TASK: Schema = {**RELOAD_TASK, **EXTERNAL_PROGRAM_TASK, **USER_SYNC_TASK}
EXECUTION_SESSION: Schema = {
    **AUDIT,
    "executingNode": {"id": "guid", "name": "string", "hostName": "string", "privileges": PRIVILEGES},
    "executionResult": RESULT_CONDENSED,
    "abortAt": "date",
    "retries": "number",
    "abortReason": "enum",
    "app": APP_CONDENSED,
    "user": "string",
    "reloadTask": TASK_CONDENSED,
    "userSyncTask": TASK_CONDENSED,
    "externalProgramTask": TASK_CONDENSED,
}
ALLOCATION: Schema = {
    **AUDIT,
    "user": USER_CONDENSED,
    "lastUsed": "date",
    "excess": "bool",
    "quarantined": "bool",
    "quarantineEnd": "date",
    "deletedUserId": "string",
    "deletedUserDirectory": "string",
}
_ROLE: Schema = {"id": "guid", "definition": "enum", "privileges": PRIVILEGES}
_CLUSTER: Schema = {"id": "guid", "name": "string", "privileges": PRIVILEGES}
NODE_CONDENSED: Schema = {
    "id": "guid",
    "name": "string",
    "hostName": "string",
    "temporaryfilepath": "string",
    "roles": [_ROLE],
    "serviceCluster": _CLUSTER,
    "privileges": PRIVILEGES,
}
SERVICE_STATUS: Schema = {
    **AUDIT,
    "serverNodeConfiguration": NODE_CONDENSED,
    "serviceType": "enum",
    "serviceState": "enum",
    "timestamp": "date",
}
SERVER_NODE_CONFIGURATION: Schema = {
    **AUDIT,
    "customProperties": [CUSTOM_VALUE],
    "name": "string",
    "hostName": "string",
    "isCentral": "bool",
    "nodePurpose": "enum",
    "engineEnabled": "bool",
    "proxyEnabled": "bool",
    "printingEnabled": "bool",
    "schedulerEnabled": "bool",
    "tags": [TAG_CONDENSED],
    "temporaryfilepath": "string",
    "roles": [_ROLE],
    "serviceCluster": _CLUSTER,
    "failoverCandidate": "bool",
}


class FilterSchemaError(ValueError):
    """A filter or orderby that names a property the entity lacks, or uses an operator its type rejects."""


def property_type(schema: Schema, path: tuple[str, ...]) -> Scalar | Schema:
    """The type ``path`` reaches (segments case-insensitive, collections walked into), or raise."""
    current: Any = schema
    for index, segment in enumerate(path):
        while isinstance(current, list):
            current = current[0]
        if not isinstance(current, Mapping):
            raise FilterSchemaError(f"{'.'.join(path[:index])} has no property {segment!r}")
        folded = segment.lower()
        found = next((value for key, value in current.items() if key.lower() == folded), None)
        if found is None:
            where = ".".join(path[:index]) or "the entity"
            raise FilterSchemaError(f"{where} has no property {segment!r}")
        current = found
    while isinstance(current, list):
        current = current[0]
    return current  # type: ignore[no-any-return]


def _clauses(node: Node) -> Iterator[Clause]:
    if isinstance(node, Clause):
        yield node
    elif isinstance(node, And | Or):
        for operand in node.operands:
            yield from _clauses(operand)
    else:
        yield from _clauses(node.operand)


def check_filter(condition: Filter, schema: Schema) -> None:
    """Raise :class:`FilterSchemaError` unless every clause names a property of the right type."""
    for clause in _clauses(condition.root):
        found = property_type(schema, clause.path)
        name = ".".join(clause.path)
        if not isinstance(found, str):
            if clause.value.kind == "null" and clause.op in ("eq", "ne"):
                continue
            raise FilterSchemaError(f"{name} is an object; compare one of its properties")
        if clause.value.kind == "null":
            if clause.op not in ("eq", "ne"):
                raise FilterSchemaError(f"{clause.op} null is not a comparison")
            continue
        if clause.op not in ALLOWED_OPERATORS[found]:
            raise FilterSchemaError(f"operator {clause.op!r} is not valid for {name} ({found})")


def check_orderby(path: tuple[str, ...], schema: Schema) -> None:
    """Raise :class:`FilterSchemaError` unless ``path`` is a property that can be sorted on."""
    found = property_type(schema, path)
    if not isinstance(found, str) or found == "opaque":
        raise FilterSchemaError(f"cannot order by {'.'.join(path)}")
