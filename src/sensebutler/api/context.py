"""What every router module gets: the API's config, the services behind it, and ``route``, which
registers an endpoint only when its switch is on, behind the key check for that switch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Depends

from sensebutler.api.auth import Authenticator
from sensebutler.api.config import ApiSection
from sensebutler.config import Config
from sensebutler.services.active_users import ActiveUsers
from sensebutler.services.apps import AppOperations
from sensebutler.services.files import FileOperations
from sensebutler.services.kv import KeyValueStore
from sensebutler.services.mqtt_bridge import MqttBridge
from sensebutler.services.newrelic_passthrough import NewRelicPassthroughService
from sensebutler.services.scheduler import Scheduler
from sensebutler.services.tasks import TaskStarter

F = TypeVar("F", bound=Callable[..., Any])

#: answers any endpoint may give, declared on every operation (the body is ``errors.error_body``)
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad input (code FST_ERR_VALIDATION), or not found where Butler answers 400"},
    401: {"description": "No API key, or not a valid one"},
    403: {"description": "The API key's scopes do not include this endpoint"},
    404: {"description": "Not found"},
    413: {"description": "Request body too large"},
    429: {"description": "Rate limit exceeded; see Retry-After"},
    503: {"description": "The state backend is unavailable; see Retry-After"},
}


@dataclass
class ApiContext:
    config: Config
    auth: Authenticator
    kv: KeyValueStore | None = None
    scheduler: Scheduler | None = None
    tasks: TaskStarter | None = None
    files: FileOperations | None = None
    apps: AppOperations | None = None
    mqtt: MqttBridge | None = None
    active_users: ActiveUsers | None = None
    new_relic: NewRelicPassthroughService | None = None

    @property
    def api(self) -> ApiSection:
        return self.config.api

    def enabled(self, switch: str) -> bool:
        return bool(getattr(self.api.endpoints, switch))

    def route(
        self, router: APIRouter, switch: str, method: str, path: str, **options: Any
    ) -> Callable[[F], F]:
        """``@ctx.route(router, "key_value_store", "GET", "/v4/keyvaluesnamespaces")``: registered
        only while ``api.endpoints.<switch>`` is on (else the path is 404), guarded by the key check."""

        def register(handler: F) -> F:
            if self.enabled(switch):
                responses = {**COMMON_RESPONSES, **options.pop("responses", {})}
                router.add_api_route(
                    path,
                    handler,
                    methods=[method],
                    dependencies=[Depends(self.auth.guard(switch))],
                    responses=responses,
                    **options,
                )
            return handler

        return register
