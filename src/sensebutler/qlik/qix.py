"""The engine's QIX API: JSON-RPC 2.0 over ``wss://<host>:4747/app/<app id>`` (websockets library).

What Butler's app endpoints need, and no more::

    client = QixClient(ssl_context, "qlikserver1", user_header="UserDirectory=INTERNAL; UserId=sa_api")
    await client.list_apps()                      # [DocEntry(id, name, last_reload_time)]
    await client.reload_app(app_id, partial=True)  # ReloadResult(success, script_log_file)
    await client.dump_app(app_id)                 # AppDump; .as_json() has Butler's keys
    async with client.session(app_id) as session:  # anything else
        doc = await session.open_doc(app_id)
        await session.call(doc, "GetScript")

Each helper opens its own session (one websocket, as enigma.js does per request in Butler) and
closes it. The TLS context is the one every Qlik client shares (:mod:`sensebutler.qlik.tls`).
Every failure is a :class:`~sensebutler.qlik.errors.QlikError`: handshake problems get the transport
categories (``tls_error``, ``connection_refused``, ``http_4xx`` when the engine refuses the
upgrade ...), an engine ``error`` answer is ``not_found`` (no such app or object) or ``engine_error``
with the engine's ``engine_code``, a connection lost mid-call is ``connection_error``, an answer of the wrong
shape ``bad_response``, and a call with no answer in time ``timeout``. A reload that runs but fails is
not an error: :attr:`ReloadResult.success` is False.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
)

from sensebutler import __version__
from sensebutler.qlik.errors import Category, QlikError
from sensebutler.qlik.http import origin

log = logging.getLogger(__name__)

Json = dict[str, Any]
GLOBAL_HANDLE: Final = -1
DEFAULT_PORT: Final = 4747
#: app dumps of big apps are large; the engine itself has no limit
MAX_MESSAGE_BYTES: Final = 256 * 1024 * 1024
#: engine error codes meaning "no such thing": LOCERR_GENERIC_NOT_FOUND, LOCERR_APP_NOT_FOUND
NOT_FOUND_CODES: Final = frozenset({2, 1003})
USER_AGENT: Final = f"sensebutler/{__version__}"
#: generic object types an app dump lists (Butler's keys: sheets, stories, masterobjects, appprops)
_DUMP_LISTS: Final = {
    "sheet": "sheets",
    "story": "stories",
    "masterobject": "masterobjects",
    "appprops": "appprops",
}


@dataclass(frozen=True, slots=True)
class DocEntry:
    """An app the engine lists for the connecting user (``GetDocList``)."""

    id: str
    name: str
    last_reload_time: str = ""


@dataclass(frozen=True, slots=True)
class ReloadResult:
    app_id: str
    success: bool
    #: the engine's path of the reload's script log (``DoReloadEx``), when it tells
    script_log_file: str | None
    saved: bool


@dataclass(slots=True)
class AppDump:
    """An app's content in the shape of Butler's app dump (``as_json`` gives its keys)."""

    app_id: str
    properties: Json
    load_script: str
    sheets: list[Json] = field(default_factory=list)
    stories: list[Json] = field(default_factory=list)
    masterobjects: list[Json] = field(default_factory=list)
    appprops: list[Json] = field(default_factory=list)
    dimensions: list[Json] = field(default_factory=list)
    measures: list[Json] = field(default_factory=list)
    bookmarks: list[Json] = field(default_factory=list)
    variables: list[Json] = field(default_factory=list)
    fields: list[Json] = field(default_factory=list)
    dataconnections: list[Json] = field(default_factory=list)
    lineage: list[Json] = field(default_factory=list)

    def as_json(self) -> Json:
        return {
            "properties": self.properties,
            "loadScript": self.load_script,
            "lineage": self.lineage,
            "sheets": self.sheets,
            "stories": self.stories,
            "masterobjects": self.masterobjects,
            "appprops": self.appprops,
            "dimensions": self.dimensions,
            "measures": self.measures,
            "bookmarks": self.bookmarks,
            "embeddedmedia": [],
            "snapshots": [],
            "fields": self.fields,
            "dataconnections": self.dataconnections,
            "variables": self.variables,
            "appId": self.app_id,
        }


def _handshake_error(exc: BaseException, host: str, endpoint: str, timeout_s: float) -> QlikError:
    """Classify a failure to open the websocket (TCP, TLS or the HTTP upgrade)."""
    if isinstance(exc, TimeoutError):
        return QlikError("timeout", host, endpoint, f"no answer within {timeout_s:g} s")
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        category: Category = (
            "http_4xx" if 400 <= status < 500 else "http_5xx" if status >= 500 else "http_status"
        )
        return QlikError(category, host, endpoint, f"websocket upgrade refused: HTTP {status}", status=status)
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    tls = next((c for c in chain if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        reason = getattr(tls, "reason", None) or getattr(tls, "verify_message", None) or str(tls)
        return QlikError("tls_error", host, endpoint, f"TLS failed: {reason}")
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return QlikError("connection_refused", host, endpoint, "connection refused")
    if any(isinstance(c, socket.gaierror | UnicodeError) for c in chain):
        return QlikError("dns_error", host, endpoint, "host name does not resolve")
    if isinstance(exc, InvalidMessage) and any(isinstance(c, EOFError | ConnectionResetError) for c in chain):
        # TLS was set up, then the engine dropped the connection without an HTTP answer: under
        # TLS 1.3 that is how a refused client certificate shows
        return QlikError(
            "tls_error",
            host,
            endpoint,
            "connection closed during the websocket handshake (client certificate refused?)",
        )
    if isinstance(exc, InvalidHandshake):
        return QlikError("bad_response", host, endpoint, f"websocket handshake failed: {exc}")
    return QlikError("connection_error", host, endpoint, str(exc) or type(exc).__name__)


def _engine_error(error: Any, host: str, endpoint: str) -> QlikError:
    if not isinstance(error, dict):
        return QlikError("bad_response", host, endpoint, f"error is not an object: {error!r:.200}")
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message, parameter = str(error.get("message", "")), str(error.get("parameter", ""))
    detail = f"engine error {code}: {message}" + (f" ({parameter})" if parameter else "")
    category: Category = "not_found" if code in NOT_FOUND_CODES else "engine_error"
    return QlikError(category, host, endpoint, detail, engine_code=code)


def _field(result: Json, key: str, kind: type, host: str, endpoint: str) -> Any:
    value = result.get(key)
    if not isinstance(value, kind):
        raise QlikError("bad_response", host, endpoint, f"result.{key} is missing or not a {kind.__name__}")
    return value


class QixSession:
    """One websocket session: numbered requests, answers matched by id, notifications kept."""

    def __init__(self, connection: ClientConnection, host: str, timeout_s: float) -> None:
        self._connection = connection
        self.host = host
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, asyncio.Future[Json]]] = {}
        #: notifications the engine sent (``OnConnected``, ``OnClosed`` ...), newest last (at most 100)
        self.notifications: list[Json] = []
        self._closed_reason: QlikError | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self._connection:
                try:
                    message = orjson.loads(frame)
                except orjson.JSONDecodeError:
                    self._fail_all(
                        QlikError(
                            "bad_response", self.host, "QIX", "the engine sent a frame that is not JSON"
                        )
                    )
                    return
                if isinstance(message, dict):
                    self._deliver(message)
        except ConnectionClosed:
            pass
        code, reason = self._connection.close_code, self._connection.close_reason
        detail = f"the engine closed the connection (code {code}{': ' + reason if reason else ''})"
        if code is None:
            detail = "connection lost"
        self._fail_all(QlikError("connection_error", self.host, "QIX", detail))

    def _deliver(self, message: Json) -> None:
        request_id = message.get("id")
        if request_id is None:
            if "method" in message:
                self.notifications.append(message)
                del self.notifications[:-100]
            return
        pending = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if pending is None:
            return
        method, future = pending
        if future.done():
            return
        endpoint = f"QIX {method}"
        if "error" in message:
            future.set_exception(_engine_error(message["error"], self.host, endpoint))
        elif isinstance(message.get("result"), dict):
            future.set_result(message["result"])
        else:
            future.set_exception(
                QlikError("bad_response", self.host, endpoint, "answer without a result object")
            )

    def _fail_all(self, error: QlikError) -> None:
        self._closed_reason = error
        pending, self._pending = self._pending, {}
        for method, future in pending.values():
            if not future.done():
                future.set_exception(
                    QlikError(
                        error.category,
                        error.host,
                        f"QIX {method}",
                        error.detail,
                        engine_code=error.engine_code,
                    )
                )

    async def call(self, handle: int, method: str, *params: Any, timeout_s: float | None = None) -> Json:
        """Call ``method`` on ``handle`` with positional ``params``; the ``result`` object."""
        endpoint = f"QIX {method}"
        if self._closed_reason is not None:
            raise QlikError(self._closed_reason.category, self.host, endpoint, self._closed_reason.detail)
        request_id = next(self._ids)
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        request = {
            "jsonrpc": "2.0",
            "id": request_id,
            "handle": handle,
            "method": method,
            "params": list(params),
        }
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            await self._connection.send(orjson.dumps(request).decode("utf-8"))
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            raise QlikError("timeout", self.host, endpoint, f"no answer within {limit:g} s") from None
        except ConnectionClosed as exc:
            raise QlikError("connection_error", self.host, endpoint, f"connection lost: {exc}") from exc
        finally:
            self._pending.pop(request_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # seen here when send failed first; asyncio need not report it

    async def open_doc(self, app_id: str, *, no_data: bool = False) -> int:
        """Open ``app_id``; its handle."""
        result = await self.call(GLOBAL_HANDLE, "OpenDoc", app_id, "", "", "", no_data)
        return self.returned_handle(result, "OpenDoc")

    def returned_handle(self, result: Json, method: str) -> int:
        """``qReturn.qHandle`` of a call that returns an object."""
        answer = _field(result, "qReturn", dict, self.host, f"QIX {method}")
        handle = answer.get("qHandle")
        if not isinstance(handle, int) or isinstance(handle, bool):
            raise QlikError("bad_response", self.host, f"QIX {method}", "qReturn.qHandle is not an integer")
        return handle

    async def object_handle(self, doc: int, method: str, object_id: str) -> int:
        """``GetObject`` / ``GetDimension`` / ... on the doc; the object's handle."""
        return self.returned_handle(await self.call(doc, method, object_id), method)

    async def aclose(self) -> None:
        await self._connection.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class QixClient:
    """Opens QIX sessions to one engine and offers the calls Butler's REST API needs."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        user_header: str,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        reload_timeout_s: float = 3600.0,
    ) -> None:
        self._ssl = ssl_context
        self.host = host
        self.port = port
        self.address = origin(host, port).removeprefix("https://")
        self.timeout_s = timeout_s
        self.reload_timeout_s = reload_timeout_s
        self._headers = {"User-Agent": USER_AGENT, **(headers or {}), "X-Qlik-User": user_header}

    def url(self, app_id: str | None = None) -> str:
        return f"wss://{self.address}/app/{app_id or ''}"

    @contextlib.asynccontextmanager
    async def session(self, app_id: str | None = None) -> AsyncIterator[QixSession]:
        """A websocket to ``/app/<app_id>`` (``/app/`` without an app), closed on exit."""
        endpoint = f"QIX connect /app/{app_id or ''}"
        try:
            connection = await connect(
                self.url(app_id),
                ssl=self._ssl,
                additional_headers=self._headers,
                user_agent_header=None,
                open_timeout=self.timeout_s,
                max_size=MAX_MESSAGE_BYTES,
                proxy=None,
            )
        except InvalidURI as exc:
            raise QlikError("dns_error", self.address, endpoint, f"not a valid address: {exc}") from exc
        except (OSError, TimeoutError, InvalidHandshake, EOFError) as exc:
            raise _handshake_error(exc, self.address, endpoint, self.timeout_s) from exc
        session = QixSession(connection, self.address, self.timeout_s)
        try:
            yield session
        finally:
            await session.aclose()

    async def engine_version(self) -> str:
        async with self.session() as session:
            result = await session.call(GLOBAL_HANDLE, "EngineVersion")
        version = _field(result, "qVersion", dict, self.address, "QIX EngineVersion").get("qComponentVersion")
        if not isinstance(version, str):
            raise QlikError("bad_response", self.address, "QIX EngineVersion", "no qComponentVersion")
        return version

    async def list_apps(self) -> list[DocEntry]:
        """The apps the engine shows to the configured user (``GetDocList``)."""
        async with self.session() as session:
            result = await session.call(GLOBAL_HANDLE, "GetDocList")
        entries = _field(result, "qDocList", list, self.address, "QIX GetDocList")
        apps: list[DocEntry] = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("qDocId"), str):
                raise QlikError("bad_response", self.address, "QIX GetDocList", "an entry without qDocId")
            apps.append(
                DocEntry(
                    id=entry["qDocId"],
                    name=str(entry.get("qDocName", "")),
                    last_reload_time=str(entry.get("qLastReloadTime", "")),
                )
            )
        return apps

    async def reload_app(
        self, app_id: str, *, partial: bool = False, mode: int = 0, save: bool = True
    ) -> ReloadResult:
        """Reload ``app_id`` in the engine (``DoReloadEx``) and, when it succeeded, save it (``DoSave``).

        ``mode``: 0 default error handling, 1 abort on error (ABEND), 2 ignore errors.
        """
        async with self.session(app_id) as session:
            doc = await session.open_doc(app_id)
            options = {"qMode": mode, "qPartial": partial, "qDebug": False}
            result = await session.call(doc, "DoReloadEx", options, timeout_s=self.reload_timeout_s)
            outcome = _field(result, "qResult", dict, self.address, "QIX DoReloadEx")
            success = outcome.get("qSuccess")
            if not isinstance(success, bool):
                raise QlikError(
                    "bad_response", self.address, "QIX DoReloadEx", "qResult.qSuccess is not a boolean"
                )
            log_file = outcome.get("qScriptLogFile")
            saved = False
            if success and save:
                await session.call(doc, "DoSave")
                saved = True
        return ReloadResult(app_id, success, log_file if isinstance(log_file, str) else None, saved)

    async def dump_app(self, app_id: str) -> AppDump:
        """Everything an app holds, as Butler's app dump lists it (opened without data)."""
        async with self.session(app_id) as session:
            doc = await session.open_doc(app_id, no_data=True)
            return await _AppDumper(session, doc, self.address).dump(app_id)


class _AppDumper:
    def __init__(self, session: QixSession, doc: int, host: str) -> None:
        self.session = session
        self.doc = doc
        self.host = host

    async def _result(self, handle: int, method: str, key: str, kind: type) -> Any:
        return _field(await self.session.call(handle, method), key, kind, self.host, f"QIX {method}")

    async def _properties(self, method: str, object_id: str) -> tuple[int, Json]:
        handle = await self.session.object_handle(self.doc, method, object_id)
        return handle, await self._result(handle, "GetProperties", "qProp", dict)

    async def dump(self, app_id: str) -> AppDump:
        properties = await self._result(self.doc, "GetAppProperties", "qProp", dict)
        script = await self._result(self.doc, "GetScript", "qScript", str)
        dump = AppDump(app_id=app_id, properties=properties, load_script=script)
        infos = await self._result(self.doc, "GetAllInfos", "qInfos", list)
        for info in infos:
            if not isinstance(info, dict) or not isinstance(info.get("qId"), str):
                raise QlikError("bad_response", self.host, "QIX GetAllInfos", "an entry without qId")
            await self._add(dump, info["qId"], str(info.get("qType", "")))
        dump.fields = await self._fields()
        dump.dataconnections = await self._result(self.doc, "GetConnections", "qConnections", list)
        dump.lineage = await self._result(self.doc, "GetLineage", "qLineage", list)
        return dump

    async def _add(self, dump: AppDump, object_id: str, q_type: str) -> None:
        if q_type in _DUMP_LISTS:
            handle = await self.session.object_handle(self.doc, "GetObject", object_id)
            tree = await self._result(handle, "GetFullPropertyTree", "qPropEntry", dict)
            getattr(dump, _DUMP_LISTS[q_type]).append(tree)
        elif q_type == "dimension":
            dump.dimensions.append((await self._properties("GetDimension", object_id))[1])
        elif q_type == "measure":
            dump.measures.append((await self._properties("GetMeasure", object_id))[1])
        elif q_type == "bookmark":
            handle, props = await self._properties("GetBookmark", object_id)
            layout = await self._result(handle, "GetLayout", "qLayout", dict)
            props = {**props, "qData": {**props.get("qData", {}), "qBookMark": layout.get("qBookmark")}}
            dump.bookmarks.append(props)
        elif q_type == "variable":
            handle, props = await self._properties("GetVariableById", object_id)
            layout = await self._result(handle, "GetLayout", "qLayout", dict)
            for flag in ("qIsScriptCreated", "qIsReserved", "qIsConfig"):
                if layout.get(flag):
                    props = {**props, flag: True}
            dump.variables.append(props)

    async def _fields(self) -> list[Json]:
        definition = {
            "qInfo": {"qType": "FieldList"},
            "qFieldListDef": {
                "qShowSystem": True,
                "qShowHidden": True,
                "qShowSrcTables": True,
                "qShowSemantic": True,
            },
        }
        created = await self.session.call(self.doc, "CreateSessionObject", definition)
        handle = self.session.returned_handle(created, "CreateSessionObject")
        layout = await self._result(handle, "GetLayout", "qLayout", dict)
        items = (
            layout.get("qFieldList", {}).get("qItems", [])
            if isinstance(layout.get("qFieldList"), dict)
            else []
        )
        return [item for item in items if isinstance(item, dict)]
