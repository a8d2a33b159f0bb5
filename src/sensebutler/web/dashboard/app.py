"""The dashboard's ASGI app and its ``build(runtime)`` (mounted at ``/dashboard``).

``GET /dashboard/<page>`` is one HTML shell; ``/dashboard/data/<page>?range=<s>&q=<text>`` its data
as JSON; ``/dashboard/live/<page>`` the same data as server-sent events every ``update_interval_s``.
Without a valid key every path but the login page answers 401.

The pages read the embedded store when it runs, else the InfluxDB sink's database (``reader.py``);
a page that cannot be read answers with the reason (503) and counts it in ``read_failures``.
"""

from __future__ import annotations

import asyncio
import html
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sensebutler.logs import RateLimitedLog
from sensebutler.runtime import Component, Runtime, StartupError
from sensebutler.services.state import StateUnavailable
from sensebutler.sinks.influxdb.config import InfluxDbSection
from sensebutler.sinks.store.sink import find_store
from sensebutler.sinks.store.storage import NS
from sensebutler.tls import CertificateError
from sensebutler.web.dashboard.access import COOKIE, DashboardAccess
from sensebutler.web.dashboard.api_state import ApiState
from sensebutler.web.dashboard.influx_query import InfluxQuery
from sensebutler.web.dashboard.influx_reader import UNAVAILABLE, InfluxPages, InfluxReader
from sensebutler.web.dashboard.queries import PAGES
from sensebutler.web.dashboard.reader import DataSource, ReadError

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: filled by ``make web-assets`` from the npm registry (not in the repository)
VENDOR = HERE / "vendor"
RANGES = {"15m": 900, "1h": 3600, "6h": 21_600, "24h": 86_400, "7d": 604_800, "30d": 2_592_000}
PREFIX = "/dashboard"
NO_SOURCE = (
    "The dashboard has nothing to read: turn on the embedded store (store.enable) "
    "or configure an InfluxDB sink (influxdb.enable)."
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f'<link rel=icon href="data:,"><title>{html.escape(title)} · sensebutler</title>'
        f'<link rel=stylesheet href="{PREFIX}/vendor/uPlot.min.css">'
        f'<link rel=stylesheet href="{PREFIX}/static/dashboard.css"></head><body>{body}</body></html>'
    )
    return HTMLResponse(text, status_code=status)


def _login(message: str = "", status: int = 401) -> HTMLResponse:
    note = f"<p class=error>{html.escape(message)}</p>" if message else ""
    return _page(
        "Sign in",
        f'<main class=login><h1>sensebutler</h1>{note}<form method=post action="{PREFIX}/login">'
        "<label>API key <input name=key type=password autofocus required></label>"
        "<button>Open the dashboard</button></form>"
        "<p>Use a key from <code>api.keys</code> in the configuration.</p></main>",
        status,
    )


class Dashboard:
    def __init__(
        self,
        source: DataSource | None,
        access: DashboardAccess,
        interval_s: float,
        api_state: ApiState | None = None,
    ) -> None:
        self.source = source
        self.api_state = api_state
        self.access = access
        self.interval_s = interval_s
        #: pages that could not be read, by cause (``ReadError`` categories; ``store`` for the file)
        self.read_failures: Counter[str] = Counter()
        self._loud = RateLimitedLog(log, 60.0)
        routes = [
            Route("/", self.home),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Mount("/vendor", StaticFiles(directory=VENDOR, check_dir=False), name="vendor"),
            Route("/data/{page}", self.data),
            Route("/live/{page}", self.live),
            Route("/{page}", self.page),
        ]
        self.app = Starlette(routes=routes)

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/site", status_code=303)

    async def login(self, request: Request) -> Response:
        if request.method == "POST":
            form = parse_qs((await request.body()).decode("utf-8", "replace"))  # no multipart needed
            key = form.get("key", [""])[0]
        else:
            key = request.query_params.get("key", "")
            if not key:
                return _login(status=200)
        if not self.access.valid(key):
            self.access.denied += 1
            return _login("That key is not in api.keys.")
        response = RedirectResponse(f"{PREFIX}/site", status_code=303)
        response.set_cookie(COOKIE, key, httponly=True, samesite="strict", path=PREFIX)
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    async def page(self, request: Request) -> Response:
        if not self.access.allowed(request):
            return _login("Sign in with an API key to see the dashboard.")
        name = request.path_params["page"]
        if name not in PAGES:
            return _page("Not found", f"<main><p>No page {html.escape(name)}.</p></main>", 404)
        if self.source is None and not (name == "api" and self.api_state is not None):
            return _page(PAGES[name][0], f"<main><p class=error>{html.escape(NO_SOURCE)}</p></main>", 503)
        nav = "".join(
            f'<a href="{PREFIX}/{key}"{" class=current" if key == name else ""}>{html.escape(title)}</a>'
            for key, (title, _) in PAGES.items()
        )
        ranges = "".join(f"<option{' selected' if r == '1h' else ''}>{r}</option>" for r in RANGES)
        body = (
            f"<header><strong>sensebutler</strong><nav>{nav}</nav>"
            f"<label>Range <select id=range>{ranges}</select></label>"
            f'<a href="{PREFIX}/logout">Sign out</a></header>'
            f'<main id=page data-page="{name}" data-prefix="{PREFIX}"><p id=status>Loading…</p></main>'
            f'<script src="{PREFIX}/vendor/uPlot.iife.min.js"></script>'
            f'<script src="{PREFIX}/static/dashboard.js"></script>'
        )
        return _page(PAGES[name][0], body)

    async def _query(self, request: Request) -> dict[str, object]:
        """The page's data; raises :class:`ReadError` when its source cannot be read. The API state
        page reads the state backend (``api_state.py``), the others the store or InfluxDB."""
        name = request.path_params["page"]
        from_state = name == "api" and self.api_state is not None
        if self.source is None and not from_state:
            raise ReadError(NO_SOURCE, "unreachable")
        span = RANGES.get(request.query_params.get("range", "1h"), 3600)
        search = request.query_params.get("q", "")[:200]
        until = time.time_ns() + NS
        since = until - span * NS
        page = PAGES[name][1]
        try:
            if self.api_state is not None and from_state:
                data = await self.api_state.page(search)
            else:
                assert self.source is not None
                data = await self.source.thread.run(lambda reader: page(reader, since, until, search))
        except ReadError as exc:
            self._failed(exc.category, exc)
            raise
        except StateUnavailable as exc:
            self._failed("state", exc)
            raise ReadError(f"reading the state backend failed: {exc}", "unreachable") from exc
        except (OSError, sqlite3.Error) as exc:
            self._failed("store", exc)
            raise ReadError(f"reading the store failed: {exc}", "bad_answer") from exc
        source = "state" if from_state or self.source is None else self.source.name
        unavailable = [] if from_state or self.source is None else self.source.unavailable.get(name, ())
        return {"page": name, "since": since // NS, "until": until // NS, **data} | {
            "source": source,
            "unavailable": list(unavailable),
        }

    def _failed(self, cause: str, exc: Exception) -> None:
        self.read_failures[cause] += 1
        self._loud.log(logging.WARNING, cause, "dashboard: reading the page data failed: %s", exc)

    async def data(self, request: Request) -> Response:
        if not self.access.allowed(request):
            return JSONResponse({"error": "an API key is required"}, status_code=401)
        if request.path_params["page"] not in PAGES:
            return JSONResponse({"error": "no such page"}, status_code=404)
        try:
            data = await self._query(request)
        except ReadError as exc:
            return JSONResponse({"error": str(exc), "category": exc.category}, status_code=503)
        return Response(orjson.dumps(data), media_type="application/json")

    async def live(self, request: Request) -> Response:
        if not self.access.allowed(request):
            return JSONResponse({"error": "an API key is required"}, status_code=401)
        if request.path_params["page"] not in PAGES:
            return JSONResponse({"error": "no such page"}, status_code=404)

        async def stream() -> AsyncIterator[bytes]:
            while not await request.is_disconnected():
                try:
                    data = await self._query(request)
                    yield b"data: " + orjson.dumps(data) + b"\n\n"
                except Exception as exc:  # a failed read is reported and retried, never ends the page
                    if not isinstance(exc, ReadError):
                        log.exception("dashboard: page %s failed", request.path_params["page"])
                    yield b"event: failed\ndata: " + orjson.dumps(str(exc)) + b"\n\n"
                await asyncio.sleep(self.interval_s)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def influx_source(section: InfluxDbSection) -> tuple[DataSource, InfluxPages]:
    """The InfluxDB sink's database as the dashboard's source, and the component that owns it."""
    try:
        ssl_context = section.tls.context("influxdb.tls") if section.url.startswith("https://") else None
    except CertificateError as exc:
        raise StartupError(str(exc)) from exc
    pages = InfluxPages(InfluxReader(InfluxQuery(section, ssl_context), section.version), section)
    return DataSource("influxdb", pages, UNAVAILABLE), pages


def build(runtime: Runtime) -> list[Component]:
    """Mounts ``/dashboard`` when it is on. It reads the store sink when that runs, else the
    InfluxDB sink's database (a component owning that reader is returned); with neither, every
    page says so."""
    section = runtime.config.dashboard
    if not section.enable:
        return []
    api = runtime.config.api
    if not api.keys and not api.allow_anonymous:
        log.info("dashboard: off until api.keys has a key to sign in with")
        return []
    components: list[Component] = []
    store = find_store(runtime)
    source: DataSource | None = None
    if store is not None:
        source = DataSource("store", store.reader)
    elif runtime.config.influxdb.enable:
        source, pages = influx_source(runtime.config.influxdb)
        components.append(pages)
    else:
        log.warning("dashboard: %s", NO_SOURCE)
    if not (VENDOR / "uPlot.iife.min.js").exists():
        log.warning("dashboard: charts are missing (%s); run `make web-assets`", VENDOR)
    api_state = None
    if api.enable:
        api_state = ApiState(
            runtime.state, key_values=api.endpoints.key_value_store, schedules=api.scheduler.enable
        )
    dashboard = Dashboard(source, DashboardAccess(api), section.update_interval_s, api_state)
    runtime.web.mount(PREFIX, dashboard.app, name="dashboard", listener=section.listener, exact=False)
    return components
