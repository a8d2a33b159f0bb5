"""``POST /v4/newrelic/event`` and ``POST /v4/newrelic/metric``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError
from sensebutler.services.newrelic_passthrough import Delivery, NewRelicPassthroughService

TAG = "New Relic"
RESPONSES: dict[int | str, dict[str, str]] = {
    502: {"description": "A New Relic account did not accept the data (each account's answer is listed)"},
}


class Attribute(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    value: str | int | float | bool


class EventRequest(BaseModel):
    eventType: str = Field(min_length=1, max_length=254, pattern=r"^[A-Za-z0-9_:\-. ]+$")
    timestamp: int | None = Field(default=None, ge=0)
    attributes: list[Attribute] = []


class MetricRequest(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    type: Literal["gauge"]
    value: float
    timestamp: int | None = Field(default=None, ge=0)
    interval: int | None = Field(default=None, ge=0)
    attributes: list[Attribute] = []


class AccountAnswer(BaseModel):
    account: str
    status: int | None
    detail: str


class PassthroughAnswer(BaseModel):
    accounts: list[AccountAnswer]


def _answer(deliveries: list[Delivery]) -> JSONResponse:
    body = PassthroughAnswer(
        accounts=[AccountAnswer(account=d.account, status=d.status, detail=d.detail) for d in deliveries]
    )
    if not deliveries:
        raise ApiError(400, "No New Relic account configured for this endpoint (api.new_relic)")
    failed = [d.account for d in deliveries if not d.ok]
    if failed:
        return JSONResponse(
            {
                "statusCode": 502,
                "error": "Bad Gateway",
                "message": f"New Relic did not accept the data for account(s) {', '.join(failed)}",
                **body.model_dump(),
            },
            status_code=502,
        )
    return JSONResponse(body.model_dump(), status_code=202)


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    def service() -> NewRelicPassthroughService:
        if ctx.new_relic is None:  # pragma: no cover - made whenever a New Relic switch is on
            raise ApiError(503, "New Relic passthrough is not set up")
        return ctx.new_relic

    @ctx.route(
        api,
        "new_relic_event",
        "POST",
        "/v4/newrelic/event",
        status_code=202,
        response_model=PassthroughAnswer,
        responses=RESPONSES,
    )
    async def post_event(body: EventRequest = Body()) -> JSONResponse:
        """Post an event to New Relic's Event API for each account in ``api.new_relic.event_accounts``."""
        attributes = {a.name: a.value for a in body.attributes}
        return _answer(await service().event(body.eventType, body.timestamp, attributes))

    @ctx.route(
        api,
        "new_relic_metric",
        "POST",
        "/v4/newrelic/metric",
        status_code=202,
        response_model=PassthroughAnswer,
        responses=RESPONSES,
    )
    async def post_metric(body: MetricRequest = Body()) -> JSONResponse:
        """Post a gauge to New Relic's Metric API for each account in ``api.new_relic.metric_accounts``."""
        attributes = {a.name: a.value for a in body.attributes}
        deliveries = await service().metric(
            body.name, body.type, body.value, body.timestamp, body.interval, attributes
        )
        return _answer(deliveries)

    return api
