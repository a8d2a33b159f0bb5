"""The JSON shapes QRS and the About service answer with (camelCase, enums as integers).

Field lists follow the QRS API definitions; ``privileges`` is ``null`` here and filled in by the
API layer when a request asks for ``privileges=true``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sensebutler.simulator.ids import EMPTY_GUID
from sensebutler.simulator.model import (
    Allocation,
    App,
    CustomPropertyDefinition,
    CustomPropertyValue,
    Entity,
    ExecutionDetail,
    ExecutionResult,
    ExecutionSession,
    License,
    NodeService,
    ServerNode,
    ServiceState,
    Site,
    Status,
    Stream,
    Tag,
    Task,
    User,
)
from sensebutler.simulator.timefmt import NEVER_TEXT, qrs_time

Json = dict[str, Any]

TASK_SCHEMA = {
    "reload": "ReloadTask",
    "external_program": "ExternalProgramTask",
    "user_sync": "UserSyncTask",
    "distribute": "DistributionTask",
    "preload": "PreloadTask",
}


def _audit(entity: Entity, schema: str) -> Json:
    return {
        "id": entity.id,
        "createdDate": qrs_time(entity.created),
        "modifiedDate": qrs_time(entity.modified),
        "modifiedByUserName": entity.modified_by,
        "schemaPath": schema,
        "privileges": None,
    }


def tag_condensed(tag: Tag) -> Json:
    return {"id": tag.id, "name": tag.name, "privileges": None}


def tag_full(tag: Tag) -> Json:
    return {**_audit(tag, "Tag"), "name": tag.name}


def stream_condensed(stream: Stream) -> Json:
    return {"id": stream.id, "name": stream.name, "privileges": None}


def stream_full(stream: Stream) -> Json:
    return {**_audit(stream, "Stream"), "name": stream.name, "customProperties": [], "tags": []}


def definition_condensed(definition: CustomPropertyDefinition) -> Json:
    return {
        "id": definition.id,
        "name": definition.name,
        "valueType": definition.value_type,
        "choiceValues": list(definition.choice_values),
        "privileges": None,
    }


def definition_full(definition: CustomPropertyDefinition) -> Json:
    return {
        **_audit(definition, "CustomPropertyDefinition"),
        "name": definition.name,
        "valueType": definition.value_type,
        "choiceValues": list(definition.choice_values),
        "objectTypes": list(definition.object_types),
        "description": definition.description,
    }


def custom_value(value: CustomPropertyValue, owner_schema: str) -> Json:
    return {
        **_audit(value, f"{owner_schema}.CustomProperty"),
        "value": value.value,
        "definition": definition_condensed(value.definition),
    }


def user_condensed(user: User) -> Json:
    return {
        "id": user.id,
        "userId": user.user_id,
        "userDirectory": user.directory,
        "userDirectoryConnectorName": user.directory,
        "name": user.name,
        "privileges": None,
    }


def user_full(user: User) -> Json:
    return {
        **_audit(user, "User"),
        "customProperties": [custom_value(value, "User") for value in user.custom_properties],
        "userId": user.user_id,
        "userDirectory": user.directory,
        "userDirectoryConnectorName": user.directory,
        "name": user.name,
        "roles": list(user.roles),
        "attributes": [
            {
                **_audit(attribute, "UserAttribute"),
                "attributeType": attribute.attribute_type,
                "attributeValue": attribute.attribute_value,
                "externalId": attribute.external_id,
            }
            for attribute in user.attributes
        ],
        "inactive": user.inactive,
        "removedExternally": user.removed_externally,
        "blacklisted": user.blacklisted,
        "deleteProhibited": user.delete_prohibited,
        "tags": [tag_condensed(tag) for tag in user.tags],
        "favorites": [],
    }


def app_condensed(app: App) -> Json:
    return {
        "id": app.id,
        "name": app.name,
        "appId": "",
        "publishTime": qrs_time(app.publish_time),
        "published": app.published,
        "stream": stream_condensed(app.stream) if app.stream else None,
        "savedInProductVersion": app.saved_in_product_version,
        "migrationHash": app.migration_hash,
        "availabilityStatus": app.availability_status,
        "privileges": None,
    }


def app_full(app: App) -> Json:
    return {
        **_audit(app, "App"),
        "customProperties": [custom_value(value, "App") for value in app.custom_properties],
        "owner": user_condensed(app.owner),
        "name": app.name,
        "appId": "",
        "sourceAppId": EMPTY_GUID,
        "targetAppId": EMPTY_GUID,
        "publishTime": qrs_time(app.publish_time),
        "published": app.published,
        "tags": [tag_condensed(tag) for tag in app.tags],
        "description": app.description,
        "stream": stream_condensed(app.stream) if app.stream else None,
        "fileSize": app.file_size,
        "lastReloadTime": qrs_time(app.last_reload_time),
        "thumbnail": "",
        "savedInProductVersion": app.saved_in_product_version,
        "migrationHash": app.migration_hash,
        "dynamicColor": "",
        "availabilityStatus": app.availability_status,
        "lastDataDistribution": None,
    }


def _detail(detail: ExecutionDetail) -> Json:
    return {
        "id": detail.id,
        "detailsType": detail.details_type,
        "message": detail.message,
        "detailCreatedDate": qrs_time(detail.created),
        "privileges": None,
    }


def _result_body(result: ExecutionResult) -> Json:
    return {
        "executingNodeName": result.node.short_name,
        "status": int(result.status),
        "startTime": qrs_time(result.start),
        "stopTime": qrs_time(result.stop),
        "duration": result.duration_ms,
        "fileReferenceID": result.file_reference_id,
        "scriptLogAvailable": False,
        "details": [_detail(detail) for detail in result.details],
        "scriptLogLocation": result.script_log_location,
        "scriptLogSize": result.script_log_size,
    }


def result_condensed(result: ExecutionResult) -> Json:
    return {"id": result.id, "privileges": None, **_result_body(result)}


def result_full(result: ExecutionResult) -> Json:
    task = result.task
    return {
        **_audit(result, "ExecutionResult"),
        "taskID": task.id,
        "executionID": result.execution_id,
        "appID": task.app.id if task.app else EMPTY_GUID,
        "executingNodeID": result.node.id,
        **_result_body(result),
    }


def _never_result(task: Task) -> Json:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, task.id)),
        "privileges": None,
        "executingNodeName": "",
        "status": int(Status.NEVER_STARTED),
        "startTime": NEVER_TEXT,
        "stopTime": NEVER_TEXT,
        "duration": 0,
        "fileReferenceID": EMPTY_GUID,
        "scriptLogAvailable": False,
        "details": [],
        "scriptLogLocation": "",
        "scriptLogSize": 0,
    }


def _operational(task: Task) -> Json:
    last = result_condensed(task.last_result) if task.last_result else _never_result(task)
    return {
        "id": task.operational_id,
        "lastExecutionResult": last,
        "nextExecution": qrs_time(task.next_execution),
        "privileges": None,
    }


def task_condensed(task: Task) -> Json:
    return {
        "id": task.id,
        "name": task.name,
        "taskType": task.task_type,
        "enabled": task.enabled,
        "taskSessionTimeout": task.session_timeout,
        "maxRetries": task.max_retries,
        "operational": _operational(task),
        "privileges": None,
    }


def task_full(task: Task) -> Json:
    """The derived full object for any task type (what ``/qrs/task/full`` returns per element)."""
    schema = TASK_SCHEMA[task.kind]
    body: Json = {
        **_audit(task, schema),
        "customProperties": [custom_value(value, schema) for value in task.custom_properties],
        "name": task.name,
        "taskType": task.task_type,
        "enabled": task.enabled,
        "taskSessionTimeout": task.session_timeout,
        "maxRetries": task.max_retries,
        "tags": [tag_condensed(tag) for tag in task.tags],
        "isManuallyTriggered": task.is_manually_triggered,
        "operational": _operational(task),
    }
    if task.app is not None:
        body["app"] = app_condensed(task.app)
    if task.kind == "reload":
        body["isPartialReload"] = task.partial
        body["preloadNodes"] = []
    elif task.kind == "preload":
        body["preloadNodes"] = []
    elif task.kind == "external_program":
        body["path"] = task.path
        body["parameters"] = task.parameters
        body["qlikUser"] = None
    elif task.kind == "user_sync":
        body["userDirectory"] = {
            "id": task.user_directory_id,
            "name": task.user_directory,
            "userDirectoryName": task.user_directory,
            "configured": True,
            "operational": True,
            "type": "Repository.UserDirectoryConnectors.LDAP.ActiveDirectory",
            "syncOnlyLoggedInUsers": False,
            "privileges": None,
        }
    return body


def execution_session(session: ExecutionSession) -> Json:
    task = session.task
    typed: Json = {kind: None for kind in ("reloadTask", "userSyncTask", "externalProgramTask")}
    key = {"user_sync": "userSyncTask", "external_program": "externalProgramTask"}.get(
        task.kind, "reloadTask"
    )
    typed[key] = task_condensed(task)
    return {
        **_audit(session, "ExecutionSession"),
        "executingNode": {
            "id": session.node.id,
            "name": session.node.name,
            "hostName": session.node.host_name,
            "privileges": None,
        },
        "executionResult": result_condensed(session.result),
        "abortAt": NEVER_TEXT,
        "retries": session.retries,
        "abortReason": session.abort_reason,
        "app": app_condensed(task.app) if task.app else None,
        "user": session.user,
        **typed,
    }


def license_body(lic: License) -> Json:
    details = "\n".join(
        [
            f"Serial: {lic.serial}",
            f"Name: {lic.name}",
            f"Organization: {lic.organization}",
            f"Cores: {lic.number_of_cores}",
            "Valid From: 2022-01-01",
            f"Valid To: {lic.valid_to.isoformat()}",
        ]
    )
    return {
        **_audit(lic, "License"),
        "lef": lic.lef,
        "serial": lic.serial,
        "check": lic.check,
        "key": lic.key,
        "keyDetails": details,
        "name": lic.name,
        "organization": lic.organization,
        "product": lic.product,
        "numberOfCores": lic.number_of_cores,
        "isExpired": lic.is_expired,
        "expiredReason": "License has expired" if lic.is_expired else "",
        "isBlacklisted": False,
        "isInvalid": False,
        "isSubscription": True,
        "isCloudServices": False,
        "isElastic": False,
        "updated": qrs_time(lic.modified),
    }


def allocation(item: Allocation) -> Json:
    schema = "License.ProfessionalAccessType" if item.kind == "professional" else "License.AnalyzerAccessType"
    return {
        **_audit(item, schema),
        "user": user_condensed(item.user),
        "lastUsed": qrs_time(item.last_used),
        "excess": item.excess,
        "quarantined": item.quarantined,
        "quarantineEnd": qrs_time(item.quarantine_end),
        "deletedUserId": "",
        "deletedUserDirectory": "",
    }


def _access_details(site: Site, kind: str, total: int) -> Json:
    items = [item for item in site.allocations.values() if item.kind == kind]
    allocated = sum(1 for item in items if not item.quarantined)
    quarantined = sum(1 for item in items if item.quarantined)
    used = sum(1 for item in items if not item.quarantined and item.last_used.year > 1753)
    return {
        "enabled": total > 0,
        "total": total,
        "allocated": allocated,
        "used": used,
        "quarantined": quarantined,
        "excess": 0,
        "available": max(0, total - allocated - quarantined),
        "schemaPath": "AccessTypeOverview.Details",
    }


def access_type_overview(site: Site) -> Json:
    scenario = site.scenario
    professional = scenario.professional.total if scenario.professional else 0
    analyzer = scenario.analyzer.total if scenario.analyzer else 0
    return {
        "totalTokens": 0,
        "availableTokens": 0,
        "tokensEnabled": False,
        "userAccess": {
            "enabled": False,
            "tokenCost": 1.0,
            "allocatedTokens": 0,
            "usedTokens": 0,
            "quarantinedTokens": 0,
            "schemaPath": "AccessTypeOverview.UserAccessDetails",
        },
        "loginAccess": {
            "enabled": False,
            "tokenCost": 0.1,
            "allocatedTokens": 0,
            "usedTokens": 0,
            "unavailableTokens": 0,
            "schemaPath": "AccessTypeOverview.LoginAccessDetails",
        },
        "professionalAccess": _access_details(site, "professional", professional),
        "analyzerAccess": _access_details(site, "analyzer", analyzer),
        "analyzerTimeAccess": {
            "enabled": False,
            "allocatedMinutes": 0,
            "usedMinutes": 0,
            "unavailableMinutes": 0,
            "schemaPath": "AccessTypeOverview.AnalyzerTimeAccessDetails",
        },
        "schemaPath": "AccessTypeOverview",
    }


def _node_condensed(node: ServerNode) -> Json:
    return {
        "id": node.id,
        "name": node.name,
        "hostName": node.host_name,
        "temporaryfilepath": "C:\\Users\\qlikservice\\AppData\\Local\\Temp\\",
        "roles": [{"id": node.id, "definition": 0 if node.central else 1, "privileges": None}],
        "serviceCluster": {"id": node.service_cluster_id, "name": "ServiceCluster", "privileges": None},
        "privileges": None,
    }


def service_status(node: ServerNode, service: NodeService) -> Json:
    state = ServiceState.RUNNING if service.running else ServiceState.NO_COMMUNICATION
    return {
        **_audit(service, "ServiceStatus"),
        "serverNodeConfiguration": _node_condensed(node),
        "serviceType": int(service.service_type) if service.service_type is not None else None,
        "serviceState": int(state),
        "timestamp": qrs_time(service.modified),
    }


def server_node_configuration(node: ServerNode) -> Json:
    keys = node.services
    return {
        **_audit(node, "ServerNodeConfiguration"),
        "customProperties": [],
        "name": node.name,
        "hostName": node.host_name,
        "isCentral": node.central,
        "nodePurpose": 0,
        "engineEnabled": "engine" in keys,
        "proxyEnabled": "proxy" in keys,
        "printingEnabled": "printing" in keys,
        "schedulerEnabled": "scheduler" in keys,
        "tags": [],
        "temporaryfilepath": "C:\\Users\\qlikservice\\AppData\\Local\\Temp\\",
        "roles": [{"id": node.id, "definition": 0 if node.central else 1, "privileges": None}],
        "serviceCluster": {"id": node.service_cluster_id, "name": "ServiceCluster", "privileges": None},
        "failoverCandidate": node.central,
    }


def about(site: Site) -> Json:
    return {
        "buildVersion": site.scenario.qrs_build_version,
        "buildDate": "9/20/2013 10:09:00 AM",
        "databaseProvider": "Devart.Data.PostgreSql",
        "nodeType": 1,
        "sharedPersistence": True,
        "requiresBootstrap": False,
        "singleNodeOnly": False,
        "schemaPath": "About",
    }


def system_info(site: Site) -> Json:
    scenario = site.scenario
    version = scenario.product_version
    return {
        "contentHash": hashlib.sha256(f"{site.about_id}:{version}".encode()).hexdigest()[:16],
        "senseId": f"qliksenseserver:{version}",
        "originalClassName": "Composition",
        "version": version,
        "deploymentType": "QlikSenseServer",
        "releaseLabel": scenario.release_label,
        "deprecatedProductVersion": "4.0.X",
        "productName": "Qlik Sense",
        "copyrightYearRange": f"1993-{site.started.year}",
    }
