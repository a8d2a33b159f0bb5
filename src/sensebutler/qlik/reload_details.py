"""What QRS knows about a task outcome: task, app, owner, execution result and script log.

Fetched once per task event and shared by every alert destination (Butler repeats calls per
destination). Each part is fetched on its own: one that fails is ``None`` and named in
``missing``, and the alert goes out with the rest (Butler sends nothing when the app cannot be read).

Calls (butler.md §7.1, Appendix B), with the independent ones at the same time:

* ``task/full?filter=id eq <task>`` — task metadata and its last execution result
  (``operational.lastExecutionResult``), so the execution needs no call of its own; an empty answer
  means the task does not exist (Butler asks ``task?filter=`` first: one call less here);
* ``app/<app>`` — the app's metadata and owner in one answer, then ``user/<owner>`` for the
  owner's e-mail attributes;
* the script log of a reload: ``reloadtask/<task>/scriptlog?fileReferenceId=`` (Sense before May
  2025) or ``reloadtask/<task>/scriptlogfile?executionResultId=`` (later), whichever answers; the one
  that worked is remembered. Then ``download/reloadtask/<ticket>/scriptlog.txt``, polled with a short,
  growing delay while it answers 404 (Butler waits a fixed 500 ms). Up to ``attempts`` rounds,
  re-reading the execution result when it has no log reference yet.
* re-reads of the execution result (``reloadtask/<id>``, ``externalprogramtask/<id>``,
  ``usersynctask/<id>``) for the success and distribute re-polls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sensebutler.alerts.config import ScriptLogFetch
from sensebutler.events.alerts import (
    TASK_TYPES,
    AppInfo,
    AppOwner,
    Execution,
    ExecutionDetail,
    NameValue,
    TaskInfo,
    TaskType,
)
from sensebutler.logs import RateLimitedLog
from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.qrs import QrsClient

log = logging.getLogger(__name__)

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
#: what ``missing`` says for each part
TASK, APP, OWNER, EXECUTION, SCRIPT_LOG = "task", "app", "app owner", "execution result", "script log"

LogMethod = Literal["scriptlog", "scriptlogfile"]
#: the endpoint that re-reads a task's execution result, by task type
EXECUTION_ENDPOINTS: dict[TaskType, str] = {
    "reload": "reloadtask",
    "preload": "reloadtask",
    "distribute": "reloadtask",
    "external_program": "externalprogramtask",
    "user_sync": "usersynctask",
}


class NotReady(Exception):
    """QRS has no script log for the execution yet."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _tags(item: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(_text(tag.get("name")) for tag in item.get("tags") or () if isinstance(tag, Mapping))


def _custom_properties(item: Mapping[str, Any]) -> tuple[NameValue, ...]:
    values = []
    for value in item.get("customProperties") or ():
        if isinstance(value, Mapping):
            definition = value.get("definition")
            name = definition.get("name") if isinstance(definition, Mapping) else None
            values.append(NameValue(_text(name), _text(value.get("value"))))
    return tuple(values)


def parse_task(item: Mapping[str, Any]) -> TaskInfo:
    operational = item.get("operational")
    next_execution = operational.get("nextExecution") if isinstance(operational, Mapping) else ""
    return TaskInfo(
        task_type=TASK_TYPES.get(_int(item.get("taskType"), -1), "reload"),
        tags=_tags(item),
        custom_properties=_custom_properties(item),
        is_manually_triggered=bool(item.get("isManuallyTriggered")),
        is_partial_reload=bool(item.get("isPartialReload")),
        max_retries=_int(item.get("maxRetries")),
        modified_by_username=_text(item.get("modifiedByUserName")),
        modified_date=_text(item.get("modifiedDate")),
        session_timeout=_int(item.get("taskSessionTimeout")),
        next_execution=_text(next_execution),
    )


def parse_execution(task: Mapping[str, Any]) -> Execution | None:
    """``operational.lastExecutionResult`` of a task object (None when it has none)."""
    operational = task.get("operational")
    result = operational.get("lastExecutionResult") if isinstance(operational, Mapping) else None
    if not isinstance(result, Mapping):
        return None
    details = tuple(
        ExecutionDetail(
            created=_text(detail.get("detailCreatedDate")),
            message=_text(detail.get("message")),
            details_type=_int(detail.get("detailsType")),
        )
        for detail in result.get("details") or ()
        if isinstance(detail, Mapping)
    )
    return Execution(
        result_id=_text(result.get("id")),
        executing_node_name=_text(result.get("executingNodeName")),
        status=_int(result.get("status"), -1),
        start_time=_text(result.get("startTime")),
        stop_time=_text(result.get("stopTime")),
        duration_ms=_int(result.get("duration")),
        details=tuple(sorted(details, key=lambda detail: detail.created)),
        script_log_size=_int(result.get("scriptLogSize")),
        file_reference_id=_text(result.get("fileReferenceID")),
    )


def parse_app(item: Mapping[str, Any]) -> AppInfo:
    stream = item.get("stream")
    return AppInfo(
        description=_text(item.get("description")),
        file_size=_int(item.get("fileSize")),
        last_reload_time=_text(item.get("lastReloadTime")),
        modified_date=_text(item.get("modifiedDate")),
        modified_by_username=_text(item.get("modifiedByUserName")),
        publish_time=_text(item.get("publishTime")),
        published=bool(item.get("published")),
        stream_name=_text(stream.get("name")) if isinstance(stream, Mapping) else "",
        tags=_tags(item),
        custom_properties=_custom_properties(item),
    )


def user_emails(user: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of the user's attributes whose type is ``email`` (any case), in order."""
    return tuple(
        _text(attribute.get("attributeValue")).strip()
        for attribute in user.get("attributes") or ()
        if isinstance(attribute, Mapping)
        and _text(attribute.get("attributeType")).lower() == "email"
        and _text(attribute.get("attributeValue")).strip()
    )


@dataclass
class Gathered:
    """One event's details; ``None`` parts are named in ``missing``."""

    task: TaskInfo | None = None
    execution: Execution | None = None
    app: AppInfo | None = None
    owner: AppOwner | None = None
    script_log: str | None = None
    missing: list[str] = field(default_factory=list)


@dataclass
class FetchStats:
    """Counters for self-metrics: calls by outcome, and parts that could not be fetched."""

    script_logs: int = 0
    script_log_failures: int = 0
    failures: dict[str, int] = field(default_factory=dict)


class ReloadDetails:
    """Gathers what QRS knows about one task outcome (one object per processor, shared by its workers)."""

    def __init__(self, qrs: QrsClient, settings: ScriptLogFetch) -> None:
        self.qrs = qrs
        self.settings = settings
        #: the script-log reference call that worked last (tried first next time)
        self.log_method: LogMethod | None = None
        self.stats = FetchStats()
        self._log = RateLimitedLog(log, 60.0)

    # -- single parts ------------------------------------------------------------------------------
    async def task(self, task_id: str) -> tuple[TaskInfo, Execution | None] | None:
        """The task and its last execution result; None when QRS does not know the task."""
        found = await self.qrs.get_json("task/full", {"filter": f"id eq {task_id}"})
        if not isinstance(found, list) or not found or not isinstance(found[0], Mapping):
            return None
        return parse_task(found[0]), parse_execution(found[0])

    async def execution(self, task_type: TaskType, task_id: str) -> Execution | None:
        """A fresh read of the task's last execution result from its type's own endpoint."""
        found = await self.qrs.get_json(f"{EXECUTION_ENDPOINTS[task_type]}/{task_id}")
        return parse_execution(found) if isinstance(found, Mapping) else None

    async def app_and_owner(self, app_id: str, missing: list[str]) -> tuple[AppInfo | None, AppOwner | None]:
        try:
            found = await self.qrs.get_json(f"app/{app_id}")
        except QlikError as exc:
            self._failed(APP, exc, missing)
            self._failed(OWNER, exc, missing, log_it=False)
            return None, None
        if not isinstance(found, Mapping):
            self._failed(APP, "not a JSON object", missing)
            self._failed(OWNER, "no app", missing, log_it=False)
            return None, None
        app = parse_app(found)
        owner_ref = found.get("owner")
        if not isinstance(owner_ref, Mapping) or not owner_ref.get("id"):
            self._failed(OWNER, "the app has no owner", missing)
            return app, None
        owner = AppOwner(
            name=_text(owner_ref.get("name")),
            user_id=_text(owner_ref.get("userId")),
            user_directory=_text(owner_ref.get("userDirectory")),
        )
        try:
            user = await self.qrs.get_json(f"user/{owner_ref['id']}")
        except QlikError as exc:
            self._failed(OWNER, exc, missing)
            return app, None
        emails = user_emails(user) if isinstance(user, Mapping) else ()
        return app, AppOwner(
            name=owner.name, user_id=owner.user_id, user_directory=owner.user_directory, emails=emails
        )

    async def script_log(self, task_id: str, execution: Execution | None) -> str:
        """The whole script log of the task's last execution; raises the last error after every round."""
        settings = self.settings
        error: Exception = NotReady("no attempt made")
        for round_ in range(settings.attempts):
            if round_:
                await asyncio.sleep(settings.retry_delay_s)
            try:
                if execution is None or _no_reference(execution):
                    execution = await self.execution("reload", task_id)
                if execution is None or _no_reference(execution):
                    raise NotReady("the execution result has no script log reference yet")
                ticket = await self._reference(task_id, execution)
                text = await self._download(ticket)
            except (QlikError, NotReady) as exc:
                error = exc
                execution = None  # read it again next round
                continue
            self.stats.script_logs += 1
            return text
        self.stats.script_log_failures += 1
        raise error

    async def _reference(self, task_id: str, execution: Execution) -> str:
        methods: list[LogMethod] = ["scriptlog", "scriptlogfile"]
        if self.log_method == "scriptlogfile":
            methods.reverse()
        error: QlikError | None = None
        for method in methods:
            if method == "scriptlog":
                path, params = (
                    f"reloadtask/{task_id}/scriptlog",
                    {"fileReferenceId": execution.file_reference_id},
                )
            else:
                path, params = (
                    f"reloadtask/{task_id}/scriptlogfile",
                    {"executionResultId": execution.result_id},
                )
            try:
                answer = await self.qrs.get_json(path, params)
            except QlikError as exc:
                if exc.category != "http_4xx":
                    raise
                error = exc
                continue
            ticket = answer.get("value") if isinstance(answer, Mapping) else None
            if not isinstance(ticket, str) or not ticket:
                raise NotReady(f"{path} gave no download reference")
            self.log_method = method
            return ticket
        assert error is not None
        raise error

    async def _download(self, ticket: str) -> str:
        settings = self.settings
        deadline = time.monotonic() + settings.download_wait_s
        delay = settings.poll_initial_s
        while True:
            try:
                body = await self.qrs.get_bytes(f"download/reloadtask/{ticket}/scriptlog.txt")
            except QlikError as exc:
                if exc.status != 404 or time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.poll_max_s)
                continue
            return body.decode("utf-8-sig", "replace")

    # -- the whole event ---------------------------------------------------------------------------
    async def gather(self, task_id: str, app_id: str, *, want_script_log: bool = True) -> Gathered:
        """Everything for one event; never raises for a QRS failure (see ``missing``)."""
        got = Gathered()
        app_part = asyncio.create_task(self.app_and_owner(app_id, got.missing)) if app_id else None
        try:
            found = await self.task(task_id)
        except QlikError as exc:
            found = None
            self._failed(TASK, exc, got.missing)
        else:
            if found is None:
                self._failed(TASK, f"QRS does not know task {task_id}", got.missing)
        if found is not None:
            got.task, got.execution = found
            if got.execution is None:
                self._failed(EXECUTION, "the task has no execution result", got.missing)
        if want_script_log and app_id and (got.task is None or got.task.task_type == "reload"):
            try:
                got.script_log = await self.script_log(task_id, got.execution)
            except (QlikError, NotReady) as exc:
                self._failed(SCRIPT_LOG, exc, got.missing)
        if app_part is not None:
            got.app, got.owner = await app_part
        return got

    def _failed(self, part: str, why: object, missing: list[str], *, log_it: bool = True) -> None:
        if part not in missing:
            missing.append(part)
        self.stats.failures[part] = self.stats.failures.get(part, 0) + 1
        if log_it:
            self._log.log(logging.WARNING, f"missing:{part}", "reload alert: %s unavailable: %s", part, why)


def _no_reference(execution: Execution) -> bool:
    return execution.file_reference_id in ("", EMPTY_GUID)


__all__ = [
    "EXECUTION_ENDPOINTS",
    "FetchStats",
    "Gathered",
    "NotReady",
    "ReloadDetails",
    "parse_app",
    "parse_execution",
    "parse_task",
    "user_emails",
]
