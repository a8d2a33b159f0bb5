"""The REST API: a FastAPI app on the one web server (``runtime.web``), built from :data:`ROUTERS`.

Request path, outermost first: method override (POST + ``X-HTTP-Method-Override``) → audit log →
per-client rate limit → body size limit → the KV fast path (plain KV GET and POST, see
:mod:`.kv_fast_path`) → FastAPI (the endpoint's key and scope check is a dependency of each route,
see :meth:`ApiContext.route`) → a router module → a service.

Adding an endpoint: a router module with ``router(ctx) -> APIRouter`` registering routes through
``ctx.route(api, "<switch>", METHOD, "/v4/...")``, a switch in ``config.ApiEndpoints`` (and its
Butler name in ``BUTLER_NAMES``), and a line in :data:`ROUTERS`. docs/api.md says more.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from sensebutler import __version__
from sensebutler.api import (
    apps,
    config_view,
    documentation,
    errors,
    files,
    keyvalues,
    messaging,
    misc,
    newrelic,
    scheduler,
    tasks,
)
from sensebutler.api.audit import AuditLog
from sensebutler.api.auth import Authenticator
from sensebutler.api.context import ApiContext
from sensebutler.api.kv_fast_path import KeyValueFastPath
from sensebutler.api.limits import BodyLimitMiddleware, ClientRateLimit, RateLimitMiddleware
from sensebutler.api.override import MethodOverride
from sensebutler.config import Config
from sensebutler.qlik.qix import QixClient
from sensebutler.qlik.tls import build_ssl_context
from sensebutler.runtime import Component, Runtime, StartupError
from sensebutler.services.apps import AppOperations
from sensebutler.services.files import FileOperations
from sensebutler.services.kv import KeyValueStore
from sensebutler.services.mqtt_bridge import MqttBridge
from sensebutler.services.newrelic_passthrough import NewRelicPassthroughService, UnknownAccounts
from sensebutler.services.scheduler import Scheduler
from sensebutler.services.tasks import TaskStarter
from sensebutler.tls import CertificateError

#: every router module, in the order their paths appear in the documentation
ROUTERS: tuple[Callable[[ApiContext], APIRouter], ...] = (
    misc.router,
    keyvalues.router,
    scheduler.router,
    tasks.router,
    files.router,
    apps.router,
    messaging.router,
    newrelic.router,
    config_view.router,
)

#: path prefixes the API serves on its listener (``exact``: the path itself, else everything below)
MOUNTS: tuple[tuple[str, bool], ...] = (
    ("/v4/", False),
    ("/documentation", True),
    ("/documentation/", False),
    ("/config", True),
    ("/config/", False),
)

DESCRIPTION = (
    "Butler's `/v4` REST API, served by sensebutler. Every call needs an API key: header `X-API-Key`, "
    "`Authorization: Bearer <key>`, or the query parameter named in `api.key_query_parameter`. "
    "Load scripts call PUT and DELETE endpoints as POST with `X-HTTP-Method-Override: PUT` (or `DELETE`). "
    "Differences from Butler: docs/compatibility.md."
)


def create_app(ctx: ApiContext) -> FastAPI:
    """The FastAPI app with the routes whose switches are on; OpenAPI at ``/documentation/json``."""
    app = FastAPI(
        title="sensebutler API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        openapi_url="/documentation/json",
        redoc_url=None,
    )
    errors.install(app)
    for make_router in ROUTERS:
        app.include_router(make_router(ctx))
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI documents validation errors as 422; this API answers them with 400 (as Butler)."""
        if app.openapi_schema is None:
            document = plain_openapi()
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            document.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
            document.get("components", {}).get("schemas", {}).pop("ValidationError", None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    documentation.install(app)
    return app


class _WholePath:
    """Lets the mounted app route on the whole path: a Starlette ``Mount`` moves its prefix into
    ``root_path``, but the API's routes are declared with their full paths (``/v4/...``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "root_path": scope.get("app_root_path", "")}
        await self.app(scope, receive, send)


def asgi_app(ctx: ApiContext, *, fast_path: bool = True) -> ASGIApp:
    """The FastAPI app inside the request limits, audit log and method override; in front of it the
    KV fast path (``fast_path=False``: without it, the oracle its tests compare with)."""
    section = ctx.api
    app: ASGIApp = _WholePath(create_app(ctx))
    if fast_path and ctx.kv is not None and ctx.enabled(keyvalues.SWITCH):
        app = KeyValueFastPath(app, ctx.kv, ctx.auth)
    app = BodyLimitMiddleware(app, section.max_body_bytes)
    if section.rate_limit.enable:
        app = RateLimitMiddleware(
            app, ClientRateLimit(section.rate_limit.per_minute, section.rate_limit.burst)
        )
    app = AuditLog(app, enabled=section.audit_log)
    return MethodOverride(app)


def make_context(config: Config, runtime: Runtime | None = None) -> tuple[ApiContext, list[Component]]:
    """The context the routers get, and the components (the scheduler) the app must start."""
    section = config.api
    auth = Authenticator(
        section.keys, allow_anonymous=section.allow_anonymous, query_parameter=section.key_query_parameter
    )
    ctx = ApiContext(config=config, auth=auth)
    components: list[Component] = []
    if runtime is not None and section.endpoints.key_value_store:
        kv = section.key_value_store
        ctx.kv = KeyValueStore(
            runtime.state,
            max_keys_per_namespace=kv.max_keys_per_namespace,
            max_value_bytes=kv.max_value_bytes,
        )
    ctx.files = FileOperations(section.files)
    if runtime is not None and section.endpoints.sense_start_task:
        ctx.tasks = TaskStarter(runtime.qlik.qrs, section.start_task, ctx.kv)
    app_switches = ("sense_list_apps", "sense_app_reload", "sense_app_dump")
    if runtime is not None and any(getattr(section.endpoints, name) for name in app_switches):
        engine = section.engine
        try:
            engine_tls = build_ssl_context(config.qlik.certificates)
        except CertificateError as exc:
            raise StartupError(str(exc)) from exc
        qix = QixClient(
            engine_tls,
            engine.host or config.qlik.qrs.host,
            engine.port,
            user_header=engine.user_header,
            headers=engine.headers,
            timeout_s=engine.timeout_s,
            reload_timeout_s=engine.reload_timeout_s,
        )
        ctx.apps = AppOperations(qix, runtime.qlik.qrs)
        components.append(ctx.apps)
    if section.endpoints.new_relic_event or section.endpoints.new_relic_metric:
        try:
            ctx.new_relic = NewRelicPassthroughService(config.new_relic, section.new_relic)
        except UnknownAccounts as exc:
            raise StartupError(str(exc)) from exc
    if runtime is not None:
        ctx.active_users = runtime.active_users
    task_start = section.mqtt_task_start
    if (
        runtime is not None
        and config.mqtt.enable
        and (section.endpoints.mqtt_publish_message or task_start.enable)
    ):
        starter = TaskStarter(runtime.qlik.qrs, section.start_task) if task_start.enable else None
        ctx.mqtt = MqttBridge(
            config.mqtt,
            task_start_topic=task_start.topic if task_start.enable else None,
            start_task=starter.qrs.start_task if starter else None,
            allowed=starter.id_allowed if starter else (lambda task_id: False),
        )
        components.append(ctx.mqtt)
    if runtime is not None and section.scheduler.enable:
        settings = section.scheduler
        qrs = runtime.qlik.qrs
        ctx.scheduler = Scheduler(
            runtime.state,
            Path(settings.file),
            qrs.start_task,
            lease_s=settings.leader_lease_s,
            misfire_grace_s=settings.misfire_grace_s,
            history_size=settings.history_size,
        )
        components.append(ctx.scheduler)
    return ctx, components


def build(runtime: Runtime) -> list[Component]:
    """Feature builder: the API on ``api.listener`` when ``api.enable``; returns the scheduler, if on."""
    section = runtime.config.api
    if not section.enable:
        return []
    ctx, components = make_context(runtime.config, runtime)
    app = asgi_app(ctx)
    for path, exact in MOUNTS:
        runtime.web.mount(path, app, name=f"api {path}", listener=section.listener, exact=exact)
    return components
