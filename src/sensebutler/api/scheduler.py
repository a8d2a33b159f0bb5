"""``/v4/schedules…``: Butler's cron scheduler (switches ``create_new_schedule``, ``get_schedule``,
``delete_schedule``, ``start_schedule``, ``stop_schedule``, ``get_schedule_status_all``), a thin
layer over :mod:`sensebutler.services.scheduler`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import PlainTextResponse

from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError
from sensebutler.services.scheduler import Schedule, Scheduler, ScheduleSpec

TAG = "Scheduler"
_NOT_FOUND = {400: {"description": "Schedule not found"}}

ScheduleId = Path(
    min_length=1,
    max_length=200,
    pattern=r"^[^\x00-\x1f\x7f/]+$",
    description="Schedule ID",
    examples=["e4b1c455-aa15-4a51-a9cf-c5e4cfc91339"],
)


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    def scheduler() -> Scheduler:
        if ctx.scheduler is None:  # the config refuses schedule endpoints without the scheduler
            raise ApiError(404, "The scheduler is not enabled")
        return ctx.scheduler

    @ctx.route(
        api, "get_schedule", "GET", "/v4/schedules", response_model=list[Schedule], responses=_NOT_FOUND
    )
    async def get_schedules(
        id: str | None = Query(default=None, description="Schedule ID; all schedules when absent"),
    ) -> list[Schedule]:
        """All schedules, or ``[the one]`` with ``id``."""
        if id:
            return [await scheduler().get(id)]
        return await scheduler().schedules()

    @ctx.route(
        api,
        "create_new_schedule",
        "POST",
        "/v4/schedules",
        status_code=201,
        response_model=Schedule,
        responses={400: {"description": "Invalid schedule (cron, time zone, missing field)"}},
    )
    async def create_schedule(spec: ScheduleSpec) -> Schedule:
        """Create a schedule; it runs at once if ``startupState`` is ``start`` or ``started``."""
        return await scheduler().create(spec)

    @ctx.route(
        api,
        "delete_schedule",
        "DELETE",
        "/v4/schedules/{scheduleId}",
        status_code=204,
        response_class=Response,
        responses=_NOT_FOUND,
    )
    async def delete_schedule(scheduleId: str = ScheduleId) -> Response:
        await scheduler().delete(scheduleId)
        return Response(status_code=204)

    @ctx.route(api, "start_schedule", "PUT", "/v4/schedules/startall", response_model=list[Schedule])
    async def start_all() -> list[Schedule]:
        return await scheduler().set_all("started")

    @ctx.route(api, "stop_schedule", "PUT", "/v4/schedules/stopall", response_model=list[Schedule])
    async def stop_all() -> list[Schedule]:
        return await scheduler().set_all("stopped")

    @ctx.route(
        api,
        "start_schedule",
        "PUT",
        "/v4/schedules/{scheduleId}/start",
        response_model=list[Schedule],
        responses=_NOT_FOUND,
    )
    async def start_schedule(scheduleId: str = ScheduleId) -> list[Schedule]:
        """Start a schedule; answers ``[the schedule]`` as Butler does."""
        return [await scheduler().set_state(scheduleId, "started")]

    @ctx.route(
        api,
        "stop_schedule",
        "PUT",
        "/v4/schedules/{scheduleId}/stop",
        response_model=list[Schedule],
        responses=_NOT_FOUND,
    )
    async def stop_schedule(scheduleId: str = ScheduleId) -> list[Schedule]:
        return [await scheduler().set_state(scheduleId, "stopped")]

    @ctx.route(
        api,
        "get_schedule_status_all",
        "GET",
        "/v4/schedules/status",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def status() -> PlainTextResponse:
        """Text listing of every schedule with its cron and whether it runs (Butler's format)."""
        return PlainTextResponse(await scheduler().status_text())

    @ctx.route(api, "get_schedule", "GET", "/v4/schedules/{scheduleId}/history", responses=_NOT_FOUND)
    async def history(scheduleId: str = ScheduleId) -> list[dict[str, Any]]:
        """The latest runs of a schedule (not in Butler): when each fired and whether its task started."""
        return await scheduler().history(scheduleId)

    return api
