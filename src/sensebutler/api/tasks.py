"""``PUT``/``POST /v4/reloadtask/{taskId}/start``: start tasks by id, tag and custom property."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel

from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError
from sensebutler.services.tasks import StartItem

TAG = "Reload task"


class StartItemBody(BaseModel):
    type: Literal["keyvaluestore", "starttaskid", "starttasktag", "starttaskcustomproperty"]
    payload: dict[str, Any]


class StartedTask(BaseModel):
    taskId: str
    taskName: str = ""
    executionId: str | None = None
    status: str | None = None
    statusCode: int | None = None


class TasksById(BaseModel):
    started: list[StartedTask]
    invalid: list[dict[str, Any]]
    denied: list[dict[str, Any]]


class StartResult(BaseModel):
    tasksId: TasksById
    tasksTag: list[StartedTask]
    tasksTagDenied: list[dict[str, Any]]
    tasksCP: list[StartedTask]
    tasksCPDenied: list[dict[str, Any]]
    tasksFailed: list[dict[str, Any]]
    keyValueIgnored: list[dict[str, Any]]


EXAMPLE = [
    {"type": "starttaskid", "payload": {"taskId": "7552d9fc-d1bb-4975-9a38-18357de531ea"}},
    {"type": "starttasktag", "payload": {"tag": "startTask1"}},
    {
        "type": "starttaskcustomproperty",
        "payload": {"customPropertyName": "taskGroup", "customPropertyValue": "tasks2"},
    },
    {
        "type": "keyvaluestore",
        "payload": {
            "namespace": "MyFineNamespace",
            "key": "AnImportantKey",
            "value": "TheValue",
            "ttl": 10000,
        },
    },
]


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    async def start(
        taskId: str = Path(
            min_length=1, max_length=200, description='A task id, or "-" when the body lists the tasks'
        ),
        allTaskIdsMustExist: bool = Query(
            default=False, description="true: start none of the id-given tasks if one is invalid or unknown"
        ),
        wait: bool = Query(
            default=False,
            description="true: answer when the started tasks have finished, with each one's status (new)",
        ),
        items: list[StartItemBody] | None = Body(default=None, examples=[EXAMPLE]),
    ) -> dict[str, Any]:
        """Start Qlik Sense tasks; the body (optional) lists more tasks and key-value pairs to store."""
        if ctx.tasks is None:
            raise ApiError(503, "Qlik Sense is not configured (qlik section)")
        report = await ctx.tasks.start(
            taskId,
            [StartItem(i.type, i.payload) for i in items or []],
            all_must_exist=allTaskIdsMustExist,
            wait=wait,
        )
        return report.as_json()

    for method in ("PUT", "POST"):
        ctx.route(
            api,
            "sense_start_task",
            method,
            "/v4/reloadtask/{taskId}/start",
            response_model=StartResult,
            response_model_exclude_none=True,
            operation_id=f"start_task_{method.lower()}",
            responses={502: {"description": "Qlik Sense did not answer as expected"}},
        )(start)
    return api
