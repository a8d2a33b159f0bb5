"""Starting Qlik Sense tasks the way Butler's ``/v4/reloadtask/{taskId}/start`` does (butler.md §4).

Tasks are chosen by id, by QMC tag and by custom property value; the allow list
(``api.start_task.filter``) applies to the kind of selector used. ``allTaskIdsMustExist`` starts none
of the id-given tasks when one of them is malformed or unknown. With ``wait`` the call also waits for
each started task's execution result (QRS ``task/{id}/start/synchronous`` gives the execution id).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from sensebutler.api.config import StartTaskConfig
from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.qrs import QrsClient
from sensebutler.services.kv import KeyValueStore, KvError

log = logging.getLogger(__name__)

#: Butler's task id check (lower case only; ``-`` in the path means "only the body")
TASK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-5][0-9a-f]{3}-[089ab][0-9a-f]{3}-[0-9a-f]{12}$")
BODY_ONLY = "-"

#: QRS ``TaskExecutionStatus`` values after which a run is over
_FINAL = {6: "Aborted", 7: "FinishedSuccess", 8: "FinishedFail", 9: "Skipped", 11: "Error", 12: "Reset"}


class StartRequestError(ValueError):
    """The request cannot be carried out as given (answered 400)."""


@dataclass
class StartItem:
    """One body element: ``{"type": ..., "payload": {...}}``."""

    type: str
    payload: dict[str, Any]


@dataclass
class StartReport:
    """Butler's answer shape, plus ``failed`` (QRS refused the start) and, when waited, outcomes."""

    started: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[dict[str, Any]] = field(default_factory=list)
    denied: list[dict[str, Any]] = field(default_factory=list)
    by_tag: list[dict[str, Any]] = field(default_factory=list)
    tag_denied: list[dict[str, Any]] = field(default_factory=list)
    by_cp: list[dict[str, Any]] = field(default_factory=list)
    cp_denied: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    kv_ignored: list[dict[str, Any]] = field(default_factory=list)
    #: ids started by this request (a task chosen by two selectors is started once, listed under both)
    started_ids: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "tasksId": {"started": self.started, "invalid": self.invalid, "denied": self.denied},
            "tasksTag": self.by_tag,
            "tasksTagDenied": self.tag_denied,
            "tasksCP": self.by_cp,
            "tasksCPDenied": self.cp_denied,
            "tasksFailed": self.failed,
            "keyValueIgnored": self.kv_ignored,
        }


def _quoted(value: str) -> str:
    """A QRS filter string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


class TaskStarter:
    """Finds, checks and starts tasks through QRS; KV items go to the KV store (when it is on)."""

    def __init__(
        self,
        qrs: QrsClient,
        settings: StartTaskConfig,
        kv: KeyValueStore | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.qrs = qrs
        self.settings = settings
        self.kv = kv
        self._sleep = sleep

    # -- allow list ---------------------------------------------------------------------------------

    def id_allowed(self, task_id: str) -> bool:
        f = self.settings.filter
        return not f.enable or task_id in {t.lower() for t in f.allow_task.task_id}

    def _tag_allowed(self, tag: str) -> bool:
        f = self.settings.filter
        return not f.enable or tag in f.allow_task.tag

    def _cp_allowed(self, name: str, value: str) -> bool:
        f = self.settings.filter
        return not f.enable or any(
            cp.name == name and cp.value == value for cp in f.allow_task.custom_property
        )

    # -- QRS ----------------------------------------------------------------------------------------

    async def _tasks(self, filter_: str) -> list[dict[str, str]]:
        found = await self.qrs.get_json("task/full", {"filter": filter_})
        if not isinstance(found, list):
            raise QlikError("bad_response", self.qrs.base, "GET /qrs/task/full", "not a JSON array")
        return [
            {"taskId": str(t.get("id", "")), "taskName": str(t.get("name", ""))}
            for t in found
            if isinstance(t, dict)
        ]

    async def _start(self, task: dict[str, Any], wait: bool, report: StartReport) -> bool:
        """Start one task; a QRS refusal goes to ``report.failed`` (Butler ignores it silently)."""
        task_id = task["taskId"]
        if task_id in report.started_ids:
            task.update(report.started_ids[task_id])
            return True
        try:
            if wait:
                body = await self.qrs.http.request(
                    "POST",
                    self.qrs.base,
                    f"/qrs/task/{quote(task_id, safe='')}/start/synchronous",
                    timeout_s=self.qrs.timeout_s,
                    headers=self.qrs.headers,
                    xrf=True,
                    body=b"",
                )
                task["executionId"] = _execution_id(body)
            else:
                await self.qrs.start_task(task_id)
        except QlikError as exc:
            log.warning("starting task %s failed: %s", task_id, exc)
            report.failed.append({**task, "message": exc.detail, "status": exc.status})
            return False
        report.started_ids[task_id] = task
        return True

    async def _outcome(self, execution_id: str) -> dict[str, Any] | None:
        results = await self.qrs.get_json(
            "executionresult/full", {"filter": f"executionID eq {execution_id}"}
        )
        if isinstance(results, list):
            for result in results:
                status = result.get("status") if isinstance(result, dict) else None
                if isinstance(status, int) and status in _FINAL:
                    return {"status": _FINAL[status], "statusCode": status}
        return None

    async def _wait(self, started: list[dict[str, Any]]) -> None:
        """Add ``status``/``statusCode`` to each started task once its run is over (``Timeout`` when
        ``wait_timeout_s`` passes first)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.wait_timeout_s
        pending = list({id(t): t for t in started if t.get("executionId")}.values())
        while pending:
            for task in list(pending):
                outcome = await self._outcome(task["executionId"])
                if outcome is not None:
                    task.update(outcome)
                    pending.remove(task)
            if not pending:
                break
            if loop.time() >= deadline:
                for task in pending:
                    task.update({"status": "Timeout", "statusCode": None})
                break
            await self._sleep(self.settings.wait_poll_s)

    # -- the operation ------------------------------------------------------------------------------

    async def start(
        self, path_task_id: str, items: list[StartItem], *, all_must_exist: bool = False, wait: bool = False
    ) -> StartReport:
        if not path_task_id:
            raise StartRequestError(
                "Required parameter (task ID) missing. "
                'Should be a task ID or "-" if task info is passed in body'
            )
        report = StartReport()
        ids: list[str] = [] if path_task_id == BODY_ONLY else [path_task_id]
        tags: list[str] = []
        cps: list[tuple[str, str]] = []
        for item in items:
            if item.type == "starttaskid":
                ids.append(str(item.payload.get("taskId", "")))
            elif item.type == "starttasktag":
                tags.append(str(item.payload.get("tag", "")))
            elif item.type == "starttaskcustomproperty":
                cps.append(
                    (
                        str(item.payload.get("customPropertyName", "")),
                        str(item.payload.get("customPropertyValue", "")),
                    )
                )
            elif item.type == "keyvaluestore":
                await self._store(item.payload, report)

        # tasks given by id: checked (shape, allow list, existence) before any is started
        to_start: list[dict[str, Any]] = []
        for task_id in ids:
            if not TASK_ID.match(task_id):
                report.invalid.append({"taskId": task_id})
            elif not self.id_allowed(task_id):
                report.denied.append({"taskId": task_id})
            else:
                found = await self._tasks(f"id eq {task_id}")
                if found:
                    to_start.append(found[0])
                else:
                    report.invalid.append({"taskId": task_id})
        if all_must_exist and report.invalid:
            report.denied.extend({"taskId": t["taskId"]} for t in to_start)
        else:
            for task in to_start:
                if await self._start(task, wait, report):
                    report.started.append(task)

        for tag in tags:
            if not tag or not self._tag_allowed(tag):
                report.tag_denied.append({"tag": tag})
                continue
            for task in await self._tasks(f"tags.name eq {_quoted(tag)}"):
                if await self._start(task, wait, report):
                    report.by_tag.append(task)

        for name, value in cps:
            if not name or not self._cp_allowed(name, value):
                report.cp_denied.append({"name": name, "value": value})
                continue
            found = await self._tasks(
                f"(customProperties.definition.name eq {_quoted(name)}) "
                f"and (customProperties.value eq {_quoted(value)})"
            )
            for task in found:
                if await self._start(task, wait, report):
                    report.by_cp.append(task)

        if wait:
            await self._wait(report.started + report.by_tag + report.by_cp)
        return report

    async def _store(self, payload: dict[str, Any], report: StartReport) -> None:
        """A ``keyvaluestore`` item; ignored (and listed) when the KV store is off or fields are bad."""
        namespace, key, value = payload.get("namespace"), payload.get("key"), payload.get("value")
        reason = ""
        if self.kv is None:
            reason = "the key-value store is off (api.endpoints.key_value_store)"
        elif not (isinstance(namespace, str) and isinstance(key, str) and namespace and key):
            reason = "namespace and key are required"
        if not reason and self.kv is not None:
            try:
                await self.kv.put(
                    str(namespace), str(key), "" if value is None else str(value), _ttl_ms(payload)
                )
                return
            except KvError as exc:
                reason = str(exc)
        log.warning("key-value item of a task start ignored: %s", reason)
        report.kv_ignored.append({"namespace": namespace, "key": key, "reason": reason})


def _ttl_ms(payload: dict[str, Any]) -> int:
    """The item's TTL in ms; load scripts send it as a string (``"ttl":"10000"``), empty for none."""
    ttl = payload.get("ttl", 0)
    if ttl is None or ttl == "":
        return 0
    if isinstance(ttl, bool):
        raise KvError("ttl must be a number of milliseconds")
    try:
        number = float(ttl)
    except (TypeError, ValueError) as exc:
        raise KvError(f"ttl must be a number of milliseconds, not {str(ttl)[:40]!r}") from exc
    if number != number or number < 0 or number > 2**53:
        raise KvError("ttl must be a number of milliseconds, 0 or more")
    return int(number)


def _execution_id(body: bytes) -> str:
    try:
        value = orjson.loads(body).get("value")
    except (orjson.JSONDecodeError, AttributeError):
        value = None
    return value if isinstance(value, str) else ""
