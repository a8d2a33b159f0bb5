"""``/v4/mqttpublishmessage``, ``/v4/slackpostmessage``, ``/v4/activeusercount``, ``/v4/activeusers``."""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError
from sensebutler.services.mqtt_bridge import MqttUnavailable

log = logging.getLogger(__name__)
TAG = "Messaging"


class MqttMessage(BaseModel):
    topic: str = Field(min_length=1, max_length=65_535, pattern=r"^[^#+\x00]+$")
    message: str


class SlackMessage(BaseModel):
    channel: str = Field(min_length=1)
    from_user: str = Field(min_length=1)
    msg: str = Field(min_length=1)
    emoji: str | None = None


class ActiveUserCount(BaseModel):
    response: int


class ActiveUsers(BaseModel):
    response: list[str]


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    @ctx.route(
        api,
        "mqtt_publish_message",
        "PUT",
        "/v4/mqttpublishmessage",
        status_code=201,
        response_model=MqttMessage,
        responses={503: {"description": "MQTT is off, or the broker is not connected now"}},
    )
    async def mqtt_publish(body: MqttMessage = Body()) -> MqttMessage:
        """Publish a message on the broker of the ``mqtt:`` section."""
        if ctx.mqtt is None:
            raise ApiError(503, "MQTT is not enabled (mqtt.enable)", headers={"Retry-After": "60"})
        try:
            await ctx.mqtt.publish(body.topic, body.message)
        except MqttUnavailable as exc:
            raise ApiError(503, str(exc), headers={"Retry-After": "5"}) from exc
        return body

    @ctx.route(
        api,
        "slack_post_message",
        "PUT",
        "/v4/slackpostmessage",
        status_code=201,
        response_model=SlackMessage,
        response_model_exclude_none=True,
        responses={
            502: {"description": "Slack did not accept the message"},
            503: {"description": "No webhook configured"},
        },
    )
    async def slack_post(body: SlackMessage = Body()) -> SlackMessage:
        """Post a plain-text message to Slack (``api.slack_message.webhook_url``)."""
        url = ctx.api.slack_message.webhook_url
        if url is None:
            raise ApiError(503, "No Slack webhook configured (api.slack_message.webhook_url)")
        payload = {
            "username": body.from_user,
            "channel": body.channel,
            "icon_emoji": body.emoji,
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": body.msg}}],
        }
        try:
            async with httpx.AsyncClient(timeout=ctx.api.slack_message.timeout_s, trust_env=False) as http:
                answer = await http.post(url.get_secret_value(), json=payload)
        except httpx.HTTPError as exc:
            log.warning("slackpostmessage: %s", type(exc).__name__)
            raise ApiError(502, f"Slack could not be reached: {type(exc).__name__}") from exc
        if answer.status_code >= 300:
            raise ApiError(502, f"Slack answered {answer.status_code}: {answer.text[:200]}")
        return body

    @ctx.route(api, "active_user_count", "GET", "/v4/activeusercount", response_model=ActiveUserCount)
    async def active_user_count(
        host: str | None = Query(default=None, description="only this proxy host"),
    ) -> ActiveUserCount:
        """Users with a proxy session now (from the session polling and user events)."""
        return ActiveUserCount(response=ctx.active_users.count(host) if ctx.active_users else 0)

    @ctx.route(api, "active_users", "GET", "/v4/activeusers", response_model=ActiveUsers)
    async def active_users(
        host: str | None = Query(default=None, description="only this proxy host"),
    ) -> ActiveUsers:
        """The user ids with a proxy session now, sorted (Butler sent them as a JSON string)."""
        return ActiveUsers(response=sorted(ctx.active_users.users(host)) if ctx.active_users else [])

    return api
