"""App operations over QIX: ``/v4/apps/list`` (and ``/v4/senselistapps``), ``/v4/app/{appId}/reload``,
``/v4/app/{appId}/dump`` (and ``/v4/senseappdump/{appId}``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field

from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError
from sensebutler.services.apps import AppOperations

TAG = "Sense apps"
APP_ID = Path(min_length=1, max_length=200, description="The app's id")
RESPONSES: dict[int | str, dict[str, str]] = {502: {"description": "The engine did not answer as expected"}}


class AppEntry(BaseModel):
    id: str
    name: str


class ReloadRequest(BaseModel):
    reloadMode: int = Field(default=0, ge=0, le=2)
    partialReload: bool = False
    startQSEoWTaskOnSuccess: list[str] = []
    startQSEoWTaskOnFailure: list[str] = []


class ReloadAnswer(BaseModel):
    appId: str
    #: only with ``?wait=true``
    success: bool | None = None
    tasksStarted: list[str] | None = None
    tasksFailed: list[str] | None = None


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    def apps() -> AppOperations:
        if ctx.apps is None:
            raise ApiError(503, "Qlik Sense is not configured (qlik section)")
        return ctx.apps

    async def list_apps() -> list[AppEntry]:
        """The apps the engine shows to ``api.engine.user_header``."""
        return [AppEntry(id=a.id, name=a.name) for a in await apps().list_apps()]

    for path in ("/v4/apps/list", "/v4/senselistapps"):
        ctx.route(
            api,
            "sense_list_apps",
            "GET",
            path,
            response_model=list[AppEntry],
            responses=RESPONSES,
            operation_id="list_apps" + path.replace("/", "_"),
        )(list_apps)

    @ctx.route(
        api,
        "sense_app_reload",
        "PUT",
        "/v4/app/{appId}/reload",
        status_code=201,
        response_model=ReloadAnswer,
        response_model_exclude_none=True,
        responses=RESPONSES,
    )
    async def app_reload(
        appId: str = APP_ID,
        wait: bool = Query(default=False, description="true: answer when the reload has ended (new)"),
        body: ReloadRequest | None = Body(default=None),
    ) -> ReloadAnswer:
        """Reload an app in the engine, then start the tasks listed for success or failure."""
        request = body or ReloadRequest()
        outcome = await apps().reload(
            appId,
            mode=request.reloadMode,
            partial=request.partialReload,
            on_success=request.startQSEoWTaskOnSuccess,
            on_failure=request.startQSEoWTaskOnFailure,
            wait=wait,
        )
        if outcome is None:
            return ReloadAnswer(appId=appId)
        return ReloadAnswer(
            appId=appId,
            success=outcome.result.success,
            tasksStarted=outcome.started,
            tasksFailed=outcome.failed,
        )

    async def app_dump(appId: str = APP_ID) -> dict[str, Any]:
        """Everything in the app (opened without data), in Butler's app dump shape."""
        return (await apps().dump(appId)).as_json()

    for path in ("/v4/app/{appId}/dump", "/v4/senseappdump/{appId}"):
        ctx.route(
            api,
            "sense_app_dump",
            "GET",
            path,
            responses=RESPONSES,
            operation_id="app_dump" + path.replace("/", "_").replace("{appId}", "app"),
        )(app_dump)
    return api
