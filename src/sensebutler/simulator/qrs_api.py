"""The Qlik Repository Service API (port 4242, prefix ``/qrs``).

Every entity type is a :class:`Collection`: ``/qrs/<type>`` (condensed list), ``/qrs/<type>/full``,
``/qrs/<type>/count`` and ``/qrs/<type>/{id}``, with ``filter=`` (the real filter language of
:mod:`qrs_filter`, evaluated on the full object), ``orderby=<property> [desc]`` (also on the full
object, so a condensed list sorts by any property) and ``privileges=true``. Filters and orderby are
checked against the entity's :mod:`qrs_schema` as QRS checks them: an unknown property, or an
operator the property's type rejects (``gt`` on a string), is a 400. Actions (task start, script
logs, licence release) are routes of their own. Paths match case-insensitively, as QRS does
(``/qrs/ReloadTask/...`` works). Without ``X-Qlik-User`` a call runs with the certificate's full
rights; with it, as that user (:func:`has_admin_rights`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sensebutler.simulator import qrs_schema, shapes
from sensebutler.simulator.model import STATUS_NAMES, TASK_TYPES, ServiceState, ServiceType, Site
from sensebutler.simulator.qrs_filter import Clause, Filter, FilterSyntaxError, parse_filter
from sensebutler.simulator.qrs_schema import FilterSchemaError, Schema, check_filter, check_orderby
from sensebutler.simulator.web import (
    Handler,
    QlikUser,
    QlikUserError,
    Router,
    empty_response,
    json_response,
    parse_qlik_user,
    text_response,
    xrfkey_problem,
)

log = logging.getLogger(__name__)

Json = dict[str, Any]
Enums = Mapping[str, Mapping[str, int]]
PRIVILEGES = ["create", "read", "update", "delete"]
CERTIFICATE_USER = "INTERNAL\\sa_api"


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


TASK_TYPE_ENUM = {_pascal(kind): value for kind, value in TASK_TYPES.items()}
STATUS_ENUM = {name: value for value, name in STATUS_NAMES.items()}
SERVICE_TYPE_ENUM = {_pascal(item.name): item.value for item in ServiceType}
SERVICE_STATE_ENUM = {_pascal(item.name): item.value for item in ServiceState}


@dataclass
class Collection:
    """One QRS entity type."""

    items: Callable[[], Iterable[Any]]
    full: Callable[[Any], Json]
    schema: Schema
    condensed: Callable[[Any], Json] | None = None
    enums: Enums = field(default_factory=dict)
    lookup: Callable[[str], Any | None] | None = None


def _key(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        lowered = part.lower()
        data = next((value for key, value in data.items() if key.lower() == lowered), None)
    return data


def _candidates(collection: Collection, condition: Filter | None) -> Iterable[Any]:
    """The items that may match: for a filter that is just ``id eq <guid>`` (how a client reads one
    entity with its full shape) the one with that id, without building every item's JSON first."""
    root = condition.root if condition is not None else None
    if (
        isinstance(root, Clause)
        and root.op == "eq"
        and root.value.kind == "guid"
        and [part.lower() for part in root.path] == ["id"]
    ):
        wanted = str(root.value.value).lower()
        return [item for item in collection.items() if getattr(item, "id", None) == wanted]
    return collection.items()


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value).lower())


class QrsApi:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.router = Router()
        self.collections: dict[str, Collection] = {}
        self.router.add("GET", "/qrs/about", self.about)
        self.router.add("GET", "/qrs/health", self.health)
        #: what a user without admin rights may call; everything else answers it 403
        self._open_to_everyone: set[Handler] = {self.about, self.health}

    # -- wiring ---------------------------------------------------------------------------------

    def add_collection(self, name: str, collection: Collection) -> None:
        self.collections[name] = collection
        base = f"/qrs/{name}"
        listings = (
            (base, self._list_handler(collection, full=False)),
            (f"{base}/full", self._list_handler(collection, full=True)),
            (f"{base}/count", self._count_handler(collection)),
        )
        for path, handler in listings:
            self.router.add("GET", path, handler)
            self._open_to_everyone.add(handler)  # they filter by the caller's rights themselves
        self.router.add("GET", base + "/{id}", self._get_handler(collection))

    def _lookup(self, collection: Collection, entity_id: str) -> Any | None:
        if collection.lookup is not None:
            return collection.lookup(entity_id.lower())
        for item in collection.items():
            if getattr(item, "id", None) == entity_id.lower():
                return item
        return None

    # -- request handling -----------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        problem = xrfkey_problem(request)
        if problem is not None:
            return problem
        query = request.url.query
        if query and any(not part or "=" not in part for part in query.split("&")):
            return text_response("Missing parameter value(s)", 400)
        header = request.headers.get("x-qlik-user")
        acting, admin = CERTIFICATE_USER, True
        if header is not None:
            try:
                user = parse_qlik_user(header)
            except QlikUserError as exc:
                return text_response(f"Invalid X-Qlik-User header: {exc}", 400)
            acting, admin = user.key, has_admin_rights(self.site, user)
        request.state.qlik_user = acting
        request.state.qrs_admin = admin
        found = self.router.route(request.method, request.url.path)
        if isinstance(found, int):
            return empty_response(found)
        handler, params = found
        if not admin and handler not in self._open_to_everyone:
            return empty_response(403)
        return await handler(request, params)

    def _select(self, request: Request, collection: Collection, *, full: bool) -> list[Json] | Response:
        text = request.query_params.get("filter")
        try:
            condition = parse_filter(text, collection.enums) if text and text.strip() else None
            if condition is not None:
                check_filter(condition, collection.schema)
        except FilterSyntaxError as exc:
            return text_response(str(exc), 400)
        except FilterSchemaError as exc:
            log.warning("simulator QRS: filter %r rejected: %s", text, exc)
            return text_response(f"Cannot parse the expression: {text}", 400)
        order = (request.query_params.get("orderby") or "").split()
        descending = len(order) == 2 and order[1].lower() == "desc"
        if order:
            try:
                if len(order) > 2 or (len(order) == 2 and order[1].lower() not in ("asc", "desc")):
                    raise FilterSchemaError("expected orderby=<property> [asc|desc]")
                check_orderby(tuple(order[0].split(".")), collection.schema)
            except FilterSchemaError as exc:
                log.warning("simulator QRS: orderby %r rejected: %s", " ".join(order), exc)
                return text_response(f"Cannot order by: {' '.join(order)}", 400)
        if not request.state.qrs_admin:
            return []  # the security rules leave a user without admin rights nothing here
        selected: list[tuple[Any, Json]] = []
        for item in _candidates(collection, condition):
            body = collection.full(item)
            if condition is None or condition.matches(body):
                selected.append((item, body))
        if order:
            selected.sort(key=lambda pair: _sort_key(_key(pair[1], order[0])), reverse=descending)
        condense = None if full else collection.condensed
        shaped = [body if condense is None else condense(item) for item, body in selected]
        if request.query_params.get("privileges", "").lower() == "true":
            for body in shaped:
                body["privileges"] = list(PRIVILEGES)
        return shaped

    def _list_handler(self, collection: Collection, *, full: bool) -> Handler:
        async def handler(request: Request, params: dict[str, str]) -> Response:
            selected = self._select(request, collection, full=full)
            return selected if isinstance(selected, Response) else json_response(selected)

        return handler

    def _count_handler(self, collection: Collection) -> Handler:
        async def handler(request: Request, params: dict[str, str]) -> Response:
            selected = self._select(request, collection, full=True)
            return selected if isinstance(selected, Response) else json_response({"value": len(selected)})

        return handler

    def _get_handler(self, collection: Collection) -> Handler:
        async def handler(request: Request, params: dict[str, str]) -> Response:
            item = self._lookup(collection, params["id"])
            if item is None:
                return empty_response(404)
            body = collection.full(item)
            if request.query_params.get("privileges", "").lower() == "true":
                body["privileges"] = list(PRIVILEGES)
            return json_response(body)

        return handler

    async def about(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(shapes.about(self.site))

    async def health(self, request: Request, params: dict[str, str]) -> Response:
        return json_response("OK")


def has_admin_rights(site: Site, user: QlikUser) -> bool:
    """Whether QRS security rules give ``user`` (from ``X-Qlik-User``) the rights of an admin.

    Internal service accounts (``INTERNAL\\sa_*``: sa_repository, sa_scheduler, ...) and users with
    the RootAdmin role in the scenario have them; anyone else (other roles too) is treated as a
    plain user: lists come back empty, single entities and actions (task start, licence release,
    script logs) answer 403. A simplification of Sense's default rules, which would show a plain
    user the apps of its streams: enough to catch a service user that was configured wrongly.
    """
    if user.directory.upper() == "INTERNAL" and user.user_id.lower().startswith("sa_"):
        return True
    found = site.user_by_key(user.directory, user.user_id)
    return found is not None and any(role.lower() == "rootadmin" for role in found.roles)


def reading_collections(site: Site) -> dict[str, Collection]:
    """The entity types that are only read: apps, users, streams, tags, custom properties, nodes."""

    def services() -> Iterable[tuple[Any, Any]]:
        for node in site.nodes:
            for service in node.services.values():
                if service.service_type is not None:
                    yield node, service

    return {
        "app": Collection(
            items=lambda: site.apps.values(),
            full=shapes.app_full,
            schema=qrs_schema.APP,
            condensed=shapes.app_condensed,
            lookup=site.apps.get,
        ),
        "user": Collection(
            items=lambda: site.users.values(),
            full=shapes.user_full,
            schema=qrs_schema.USER,
            condensed=shapes.user_condensed,
            lookup=site.users.get,
        ),
        "stream": Collection(
            items=lambda: site.streams.values(),
            full=shapes.stream_full,
            schema=qrs_schema.STREAM,
            condensed=shapes.stream_condensed,
        ),
        "tag": Collection(
            items=lambda: site.tags.values(),
            full=shapes.tag_full,
            schema=qrs_schema.TAG,
            condensed=shapes.tag_condensed,
        ),
        "custompropertydefinition": Collection(
            items=lambda: site.custom_property_definitions.values(),
            full=shapes.definition_full,
            schema=qrs_schema.DEFINITION,
            condensed=shapes.definition_condensed,
        ),
        "servicestatus": Collection(
            items=services,
            full=lambda pair: shapes.service_status(*pair),
            schema=qrs_schema.SERVICE_STATUS,
            enums={"serviceType": SERVICE_TYPE_ENUM, "serviceState": SERVICE_STATE_ENUM},
            lookup=lambda wanted: next((pair for pair in services() if pair[1].id == wanted), None),
        ),
        "servernodeconfiguration": Collection(
            items=lambda: site.nodes,
            full=shapes.server_node_configuration,
            schema=qrs_schema.SERVER_NODE_CONFIGURATION,
        ),
    }
