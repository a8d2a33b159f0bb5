"""The engine's QIX API: JSON-RPC 2.0 over a websocket on the engine port, as enigma.js speaks it.

``wss://<host>:4747/app/<app id>`` (or ``/app/`` and ``/`` for the global context only), with the
same mutual TLS as the engine's REST healthcheck and the caller's identity in ``X-Qlik-User``
(``UserDirectory=...; UserId=...``; none means the certificate's own user, ``INTERNAL\\sa_api``).

The engine speaks first: an ``OnConnected`` notification (``qSessionState: SESSION_CREATED``).
Requests are ``{"jsonrpc": "2.0", "id": n, "handle": h, "method": "...", "params": [...] | {...}}``;
handle -1 is the Global object, ``OpenDoc`` returns the app's handle, ``GetObject`` & co. return
handles of objects. Results and errors are as the engine gives them::

    {"jsonrpc": "2.0", "id": 1, "result": {"qReturn": {"qType": "Doc", "qHandle": 1, "qGenericId": "<id>"}}}
    {"jsonrpc": "2.0", "id": 1, "error": {"code": 1003, "parameter": "<app id>", "message": "App not found"}}

Error codes are the engine's (``LOCERR_*``): 1002 app already open (in this session), 1003 app not
found, 1017 no app open (``GetActiveDoc``), 2 object not found; JSON-RPC's own -32700 parse error,
-32600 invalid request, -32601 method not found, -32602 invalid parameters or handle, -32603
internal error. ``delta: true`` in a request is accepted and answered with the full result (enigma.js
only patches when the answer says ``delta``). Binary frames are closed with 1003 (unsupported data).
Requests are answered one at a time, in order.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from sensebutler.simulator.app_content import (
    LIBRARY_TYPES,
    AppContent,
    QixObject,
    build_app_content,
    field_list,
    full_property_tree,
    object_layout,
    object_meta,
)
from sensebutler.simulator.app_reloads import AppReloader
from sensebutler.simulator.ids import guid
from sensebutler.simulator.model import App, ServerNode, Site, User
from sensebutler.simulator.qrs_api import CERTIFICATE_USER
from sensebutler.simulator.timefmt import qrs_time, utcnow
from sensebutler.simulator.web import QlikUserError, parse_qlik_user

log = logging.getLogger(__name__)

Json = dict[str, Any]
GLOBAL_HANDLE = -1
#: websocket close code for frames we do not speak (binary)
UNSUPPORTED_DATA = 1003
SERVICE_RESTART = 1012
_OLE_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)

# engine error codes (LOCERR_*) and JSON-RPC's own
APP_ALREADY_OPEN = 1002
APP_NOT_FOUND = 1003
APP_NOT_OPEN = 1017
NOT_FOUND = 2
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


class QixFault(Exception):
    """A request the engine answers with an ``error`` object."""

    def __init__(self, code: int, message: str, parameter: str = "") -> None:
        super().__init__(f"{code} {message}: {parameter}")
        self.code = code
        self.message = message
        self.parameter = parameter

    def as_json(self) -> Json:
        return {"code": self.code, "parameter": self.parameter, "message": self.message}


def content_of(site: Site, app: App) -> AppContent:
    """The app's content, generated on first use and kept on the site."""
    content = site.app_contents.get(app.id)
    if content is None:
        content = site.app_contents[app.id] = build_app_content(app.id, app.name, app.created)
    return content


def _ole_days(moment: datetime) -> float:
    """An OLE automation date (days since 1899-12-30), as ``qFileTime`` is."""
    return (moment - _OLE_EPOCH).total_seconds() / 86400.0


# -- parameters ------------------------------------------------------------------------------------

_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: type | tuple[type, ...]
    default: Any = _REQUIRED


def _bind(params: Any, spec: tuple[Param, ...]) -> list[Any]:
    """Positional (list) or named (object) parameters checked against ``spec``, defaults filled in."""
    if params is None:
        params = []
    if isinstance(params, list):
        if len(params) > len(spec):
            raise QixFault(INVALID_PARAMS, "Invalid Params", f"expected at most {len(spec)} parameters")
        given = dict(zip([p.name for p in spec], params, strict=False))
    elif isinstance(params, dict):
        unknown = sorted(set(params) - {p.name for p in spec})
        if unknown:
            raise QixFault(INVALID_PARAMS, "Invalid Params", f"unknown parameter {unknown[0]}")
        given = params
    else:
        raise QixFault(INVALID_PARAMS, "Invalid Params", "params must be an array or an object")
    values: list[Any] = []
    for param in spec:
        if param.name not in given:
            if param.default is _REQUIRED:
                raise QixFault(INVALID_PARAMS, "Invalid Params", f"missing parameter {param.name}")
            values.append(param.default)
            continue
        value = given[param.name]
        kinds = param.kind if isinstance(param.kind, tuple) else (param.kind,)
        # JSON has no separate bool; keep bool out of int parameters and int out of bool ones
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise QixFault(INVALID_PARAMS, "Invalid Params", f"{param.name} has the wrong type")
        values.append(value)
    return values


Method = Callable[..., Awaitable[Json]]


@dataclass(frozen=True, slots=True)
class _MethodSpec:
    call: Method
    params: tuple[Param, ...]


@dataclass(eq=False)
class _Handle:
    """What a handle in this session points at."""

    q_type: str  # Global, Doc, GenericObject, GenericDimension, ...
    obj: QixObject | None = None


@dataclass
class QixStats:
    sessions: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)


class QixEngine:
    """The QIX API of one node's engine; :meth:`serve` runs one websocket session."""

    def __init__(self, site: Site, node: ServerNode, reloader: AppReloader) -> None:
        self.site = site
        self.node = node
        self.reloader = reloader
        self.stats = QixStats()
        self.sessions: set[QixSession] = set()

    async def serve(self, websocket: WebSocket) -> None:
        path = websocket.url.path.rstrip("/")
        if path not in ("", "/app") and not path.startswith("/app/"):
            await websocket.close(code=1008)
            return
        header = websocket.headers.get("x-qlik-user")
        try:
            user = parse_qlik_user(header).key if header is not None else CERTIFICATE_USER
        except QlikUserError:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        self.stats.sessions += 1
        session = QixSession(self, websocket, user)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            session.closed()

    async def drop_sessions(self) -> None:
        """Close every session, as an engine restart does (close code 1012, service restart)."""
        for session in list(self.sessions):
            with contextlib.suppress(Exception):
                await session.websocket.close(code=SERVICE_RESTART)


class QixSession:
    """One websocket: its handles, its open app, and the request loop."""

    def __init__(self, engine: QixEngine, websocket: WebSocket, user: str) -> None:
        self.engine = engine
        self.site = engine.site
        self.websocket = websocket
        self.user = user
        self.handles: dict[int, _Handle] = {GLOBAL_HANDLE: _Handle("Global")}
        self.object_handles: dict[str, int] = {}
        self.next_handle = 1
        self.app: App | None = None
        self.doc_handle = 0
        self.session_objects: dict[str, QixObject] = {}
        self.connection_id = guid(engine.reloader.rng)
        self.methods: dict[str, dict[str, _MethodSpec]] = self._method_table()

    # -- the loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        await self._send(
            {"jsonrpc": "2.0", "method": "OnConnected", "params": {"qSessionState": "SESSION_CREATED"}}
        )
        while True:
            try:
                message = await self.websocket.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self.websocket.close(code=UNSUPPORTED_DATA)
                return
            reply = await self.handle_text(text)
            if reply is not None:
                await self._send(reply)

    async def _send(self, data: Json) -> None:
        await self.websocket.send_text(orjson.dumps(data).decode("utf-8"))

    def closed(self) -> None:
        if self.app is not None:
            self.engine.node.engine.close_connection(self.connection_id, utcnow())

    async def handle_text(self, text: str) -> Json | None:
        """The answer to one frame; None for a notification (a request without ``id``)."""
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return self._error(None, QixFault(PARSE_ERROR, "Parse error", str(exc)))
        if not isinstance(request, dict):
            return self._error(None, QixFault(INVALID_REQUEST, "Invalid Request", "expected a JSON object"))
        request_id = request.get("id")
        if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, int | str)):
            return self._error(
                None, QixFault(INVALID_REQUEST, "Invalid Request", "id must be a number or a string")
            )
        try:
            result = await self._dispatch(request)
        except QixFault as fault:
            return None if request_id is None else self._error(request_id, fault)
        except Exception:
            log.exception("simulator QIX: %s failed", request.get("method"))
            internal = QixFault(INTERNAL_ERROR, "Internal error", str(request.get("method")))
            return None if request_id is None else self._error(request_id, internal)
        if request_id is None:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _error(self, request_id: Any, fault: QixFault) -> Json:
        self.engine.stats.errors[fault.code] += 1
        return {"jsonrpc": "2.0", "id": request_id, "error": fault.as_json()}

    async def _dispatch(self, request: Json) -> Json:
        method, handle = request.get("method"), request.get("handle", GLOBAL_HANDLE)
        if not isinstance(method, str) or not method:
            raise QixFault(INVALID_REQUEST, "Invalid Request", "method must be a non-empty string")
        if isinstance(handle, bool) or not isinstance(handle, int):
            raise QixFault(INVALID_REQUEST, "Invalid Request", "handle must be an integer")
        target = self.handles.get(handle)
        if target is None:
            raise QixFault(INVALID_PARAMS, "Invalid Params", "Invalid handle")
        table = self.methods.get(target.q_type, {})
        # the engine matches method names case-insensitively (enigma.js sends PascalCase)
        spec = table.get(method.lower())
        if spec is None:
            raise QixFault(METHOD_NOT_FOUND, "Method not found", method)
        self.engine.stats.requests[method] += 1
        self.engine.node.engine.touch_connection(self.connection_id, utcnow())
        arguments = _bind(request.get("params"), spec.params)
        return await spec.call(target, *arguments)

    def _method_table(self) -> dict[str, dict[str, _MethodSpec]]:
        def table(*entries: tuple[str, Method, tuple[Param, ...]]) -> dict[str, _MethodSpec]:
            return {name.lower(): _MethodSpec(call, params) for name, call, params in entries}

        library = table(
            ("GetProperties", self.get_properties, ()),
            ("GetLayout", self.get_layout, ()),
            ("GetInfo", self.get_info, ()),
        )
        return {
            "Global": table(
                (
                    "OpenDoc",
                    self.open_doc,
                    (
                        Param("qDocName", str),
                        Param("qUserName", str, ""),
                        Param("qPassword", str, ""),
                        Param("qSerial", str, ""),
                        Param("qNoData", bool, False),
                    ),
                ),
                ("GetActiveDoc", self.get_active_doc, ()),
                ("GetDocList", self.get_doc_list, ()),
                ("EngineVersion", self.engine_version, ()),
                ("ProductVersion", self.product_version, ()),
                ("GetAuthenticatedUser", self.authenticated_user, ()),
                ("IsDesktopMode", self.is_desktop_mode, ()),
            ),
            "Doc": table(
                ("GetAppProperties", self.app_properties, ()),
                ("GetAppLayout", self.app_layout, ()),
                ("GetScript", self.get_script, ()),
                ("GetAllInfos", self.all_infos, ()),
                ("GetObject", self.get_object, (Param("qId", str),)),
                ("GetDimension", self.get_library("dimension"), (Param("qId", str),)),
                ("GetMeasure", self.get_library("measure"), (Param("qId", str),)),
                ("GetVariableById", self.get_library("variable"), (Param("qId", str),)),
                ("GetBookmark", self.get_library("bookmark"), (Param("qId", str),)),
                ("GetConnections", self.connections, ()),
                ("CreateSessionObject", self.create_session_object, (Param("qProp", dict),)),
                ("DestroySessionObject", self.destroy_session_object, (Param("qId", str),)),
                ("GetLineage", self.lineage, ()),
                (
                    "DoReload",
                    self.do_reload,
                    (
                        Param("qMode", int, 0),
                        Param("qPartial", bool, False),
                        Param("qDebug", bool, False),
                    ),
                ),
                ("DoReloadEx", self.do_reload_ex, (Param("qParams", dict, None),)),
                ("DoSave", self.do_save, (Param("qFileName", str, ""),)),
            ),
            "GenericObject": table(
                ("GetProperties", self.get_properties, ()),
                ("GetLayout", self.get_layout, ()),
                ("GetInfo", self.get_info, ()),
                ("GetFullPropertyTree", self.full_property_tree, ()),
                ("GetChildInfos", self.child_infos, ()),
            ),
            **{q_type: library for q_type in LIBRARY_TYPES.values()},
        }

    # -- helpers ---------------------------------------------------------------------------------

    def _new_handle(self, entry: _Handle) -> int:
        handle = self.next_handle
        self.next_handle += 1
        self.handles[handle] = entry
        return handle

    def _open_app(self) -> App:
        if self.app is None:
            raise QixFault(APP_NOT_OPEN, "App not open", "no app is open in this session")
        return self.app

    def _visible(self, user: User | None, app: App) -> bool:
        """Which apps a user sees: internal accounts and admins all; others published and own ones."""
        if user is None or user.directory == "INTERNAL" or "RootAdmin" in user.roles:
            return True
        return app.published or app.owner is user

    def _user(self) -> User | None:
        directory, _, user_id = self.user.partition("\\")
        return self.site.user_by_key(directory, user_id)

    def _owner(self, app: App) -> Json:
        owner = app.owner
        return {"id": owner.id, "userId": owner.user_id, "userDirectory": owner.directory, "name": owner.name}

    def _app_meta(self, app: App) -> Json:
        return {
            "createdDate": qrs_time(app.created),
            "modifiedDate": qrs_time(app.modified),
            "published": app.published,
            "publishTime": qrs_time(app.publish_time),
            "privileges": [
                "read",
                "update",
                "delete",
                "reload",
                "export",
                "exportdata",
                "publish",
                "change_owner",
            ],
            "description": app.description,
            "qStaticByteSize": app.file_size,
            "dynamicColor": "",
            "create": [{"resource": "sheet", "canCreate": True}, {"resource": "bookmark", "canCreate": True}],
            "stream": {"id": app.stream.id, "name": app.stream.name} if app.stream else None,
            "canCreateDataConnections": True,
        }

    # -- Global ----------------------------------------------------------------------------------

    async def open_doc(
        self, target: _Handle, doc_name: str, user_name: str, password: str, serial: str, no_data: bool
    ) -> Json:
        app = self.site.apps.get(doc_name.lower())
        if app is None or not self._visible(self._user(), app):
            raise QixFault(APP_NOT_FOUND, "App not found", doc_name)
        if self.app is not None:
            raise QixFault(APP_ALREADY_OPEN, "App already open", self.app.id)
        self.app = app
        handle = self.doc_handle = self._new_handle(_Handle("Doc"))
        self.engine.node.engine.open_connection(self.connection_id, self.user, app.id, utcnow())
        return {"qReturn": {"qType": "Doc", "qHandle": handle, "qGenericId": app.id}}

    async def get_active_doc(self, target: _Handle) -> Json:
        app = self._open_app()
        return {"qReturn": {"qType": "Doc", "qHandle": self.doc_handle, "qGenericId": app.id}}

    async def get_doc_list(self, target: _Handle) -> Json:
        user = self._user()
        entries = [
            {
                "qDocName": app.name,
                "qConnectedUsers": 0,
                "qFileTime": _ole_days(app.modified),
                "qFileSize": app.file_size,
                "qDocId": app.id,
                "qMeta": self._app_meta(app),
                "qLastReloadTime": qrs_time(app.last_reload_time),
                "qReadOnly": False,
                "qTitle": app.name,
                "qThumbnail": {"qUrl": ""},
            }
            for app in self.site.apps.values()
            if self._visible(user, app)
        ]
        return {"qDocList": entries}

    async def engine_version(self, target: _Handle) -> Json:
        return {"qVersion": {"qComponentVersion": self.engine.node.engine.version}}

    async def product_version(self, target: _Handle) -> Json:
        return {"qReturn": self.site.scenario.product_version}

    async def authenticated_user(self, target: _Handle) -> Json:
        directory, _, user_id = self.user.partition("\\")
        return {"qReturn": f"UserDirectory={directory}; UserId={user_id}"}

    async def is_desktop_mode(self, target: _Handle) -> Json:
        return {"qReturn": False}

    # -- Doc -------------------------------------------------------------------------------------

    async def app_properties(self, target: _Handle) -> Json:
        app = self._open_app()
        return {
            "qProp": {
                "qTitle": app.name,
                "qLastReloadTime": qrs_time(app.last_reload_time),
                "qThumbnail": {"qUrl": ""},
                "qHasSectionAccess": False,
                "description": app.description,
                "published": app.published,
                "publishTime": qrs_time(app.publish_time),
                "stream": {"id": app.stream.id, "name": app.stream.name} if app.stream else None,
            }
        }

    async def app_layout(self, target: _Handle) -> Json:
        app = self._open_app()
        return {
            "qLayout": {
                "qTitle": app.name,
                "qFileName": app.id,
                "qLastReloadTime": qrs_time(app.last_reload_time),
                "qModified": False,
                "qHasScript": True,
                "qStateNames": [],
                "qMeta": self._app_meta(app),
                "qLocaleInfo": {"qDecimalSep": ".", "qThousandSep": ",", "qDateFmt": "YYYY-MM-DD"},
                "qHasData": True,
                "qReadOnly": False,
                "qIsOpenedWithoutData": False,
                "qIsSessionApp": False,
                "qThumbnail": {"qUrl": ""},
                "qIsBDILiveMode": False,
                "published": app.published,
                "publishTime": qrs_time(app.publish_time),
                "stream": {"id": app.stream.id, "name": app.stream.name} if app.stream else None,
                "description": app.description,
            }
        }

    async def get_script(self, target: _Handle) -> Json:
        return {"qScript": content_of(self.site, self._open_app()).script}

    async def all_infos(self, target: _Handle) -> Json:
        return {"qInfos": content_of(self.site, self._open_app()).infos()}

    def _object_return(self, obj: QixObject, q_type: str) -> Json:
        handle = self.object_handles.get(obj.id)
        if handle is None:
            handle = self.object_handles[obj.id] = self._new_handle(_Handle(q_type, obj))
        return {
            "qReturn": {"qType": q_type, "qHandle": handle, "qGenericType": obj.type, "qGenericId": obj.id}
        }

    async def get_object(self, target: _Handle, object_id: str) -> Json:
        obj = content_of(self.site, self._open_app()).objects.get(object_id)
        if obj is None or obj.type in LIBRARY_TYPES:
            raise QixFault(NOT_FOUND, "Not found", object_id)
        return self._object_return(obj, "GenericObject")

    def get_library(self, kind: str) -> Method:
        async def get(target: _Handle, object_id: str) -> Json:
            obj = content_of(self.site, self._open_app()).objects.get(object_id)
            if obj is None or obj.type != kind:
                raise QixFault(NOT_FOUND, "Not found", object_id)
            return self._object_return(obj, LIBRARY_TYPES[kind])

        return get

    async def connections(self, target: _Handle) -> Json:
        return {"qConnections": content_of(self.site, self._open_app()).connections}

    async def create_session_object(self, target: _Handle, properties: Json) -> Json:
        """A session object; its layout evaluates the list definitions an app dump uses
        (``qAppObjectListDef``, ``qDimensionListDef``, ``qMeasureListDef``, ``qBookmarkListDef``,
        ``qVariableListDef``, ``qFieldListDef``); other definitions are kept as plain properties."""
        self._open_app()
        info = properties.get("qInfo")
        info = dict(info) if isinstance(info, dict) else {}
        object_id = info.get("qId") if isinstance(info.get("qId"), str) and info.get("qId") else None
        object_id = object_id or guid(self.engine.reloader.rng)
        q_type = str(info["qType"]) if isinstance(info.get("qType"), str) else "session"
        obj = QixObject(
            id=object_id, type=q_type, properties={**properties, "qInfo": {"qId": object_id, "qType": q_type}}
        )
        self.session_objects[object_id] = obj
        self.object_handles.pop(object_id, None)
        return self._object_return(obj, "GenericObject")

    async def destroy_session_object(self, target: _Handle, object_id: str) -> Json:
        obj = self.session_objects.pop(object_id, None)
        handle = self.object_handles.pop(object_id, None)
        if handle is not None:
            self.handles.pop(handle, None)
        return {"qSuccess": obj is not None}

    def _session_layout(self, obj: QixObject) -> Json:
        content = content_of(self.site, self._open_app())
        props = obj.properties
        layout: Json = {"qInfo": props["qInfo"], "qMeta": {}, "qSelectionInfo": {}}

        def items(kind: str) -> list[Json]:
            found = [o for o in content.objects.values() if o.type == kind]
            return [
                {
                    "qInfo": {"qId": o.id, "qType": o.type},
                    "qMeta": o.properties.get("qMetaDef", {}),
                    "qData": {},
                }
                for o in found
            ]

        lists = {
            "qDimensionListDef": ("qDimensionList", "dimension"),
            "qMeasureListDef": ("qMeasureList", "measure"),
            "qBookmarkListDef": ("qBookmarkList", "bookmark"),
        }
        for key, value in props.items():
            if key == "qAppObjectListDef" and isinstance(value, dict):
                layout["qAppObjectList"] = {"qItems": items(str(value.get("qType", "")))}
            elif key in lists:
                name, kind = lists[key]
                layout[name] = {"qItems": items(kind)}
            elif key == "qVariableListDef":
                layout["qVariableList"] = {
                    "qItems": [
                        {
                            "qName": o.properties["qName"],
                            "qDefinition": o.properties["qDefinition"],
                            "qInfo": {"qId": o.id, "qType": o.type},
                            "qIsScriptCreated": o.script_created,
                            "qData": {},
                        }
                        for o in content.objects.values()
                        if o.type == "variable"
                    ]
                }
            elif key == "qFieldListDef":
                layout["qFieldList"] = {"qItems": field_list(content)}
            elif not key.endswith("Def"):
                layout[key] = value
        return layout

    async def lineage(self, target: _Handle) -> Json:
        content = content_of(self.site, self._open_app())
        return {
            "qLineage": [
                {"qDiscriminator": f"lib://DataFiles/{table.lower()}.qvd", "qStatement": ""}
                for table in content.tables
            ]
        }

    async def _reload(self, mode: int, partial: bool) -> tuple[bool, str]:
        app = self._open_app()
        if mode not in (0, 1, 2):
            raise QixFault(INVALID_PARAMS, "Invalid Params", "qMode must be 0, 1 or 2")
        result = await self.engine.reloader.reload(
            app, self.engine.node, user=self.user, partial=partial, mode=mode
        )
        return result.success, result.script_log_file

    async def do_reload(self, target: _Handle, mode: int, partial: bool, debug: bool) -> Json:
        success, _ = await self._reload(mode, partial)
        return {"qReturn": success}

    async def do_reload_ex(self, target: _Handle, params: Json | None) -> Json:
        options = params or {}
        mode, partial = options.get("qMode", 0), options.get("qPartial", False)
        if isinstance(mode, bool) or not isinstance(mode, int) or not isinstance(partial, bool):
            raise QixFault(
                INVALID_PARAMS, "Invalid Params", "qParams: qMode must be an integer, qPartial a boolean"
            )
        success, log_file = await self._reload(mode, partial)
        return {
            "qResult": {"qSuccess": success, "qScriptLogFile": log_file, "qEndedWithMemoryConstraint": False}
        }

    async def do_save(self, target: _Handle, file_name: str) -> Json:
        app = self._open_app()
        app.touch(self.user)
        return {}

    # -- objects ---------------------------------------------------------------------------------

    def _object(self, target: _Handle) -> QixObject:
        assert target.obj is not None
        return target.obj

    async def get_properties(self, target: _Handle) -> Json:
        return {"qProp": self._object(target).properties}

    async def get_layout(self, target: _Handle) -> Json:
        app = self._open_app()
        obj = self._object(target)
        if obj.id in self.session_objects:
            return {"qLayout": self._session_layout(obj)}
        meta = object_meta(obj, published=app.published, owner=self._owner(app))
        return {"qLayout": object_layout(content_of(self.site, app), obj, meta)}

    async def get_info(self, target: _Handle) -> Json:
        obj = self._object(target)
        return {"qInfo": {"qId": obj.id, "qType": obj.type}}

    async def full_property_tree(self, target: _Handle) -> Json:
        content = content_of(self.site, self._open_app())
        return {"qPropEntry": full_property_tree(content, self._object(target))}

    async def child_infos(self, target: _Handle) -> Json:
        content = content_of(self.site, self._open_app())
        obj = self._object(target)
        return {"qInfos": [{"qId": child, "qType": content.objects[child].type} for child in obj.children]}
