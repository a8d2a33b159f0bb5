"""The KV fast path answers exactly as FastAPI does.

The running API (fast path in front) and the same API without it (``asgi_app(ctx, fast_path=False)``
on a second listener, same state backend) get the same requests one after the other; status, body
and the headers a client reads must be equal byte for byte. The corpus covers the plain requests the
fast path serves and every way out of it (other key transports, input FastAPI refuses, other content
types), and the fast path's counter shows which it served.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sensebutler.api.app import MOUNTS, asgi_app, make_context
from sensebutler.api.kv_fast_path import KeyValueFastPath
from sensebutler.config.web import WebListener
from sensebutler.runtime import Runtime
from sensebutler.web.mounts import WebMounts
from sensebutler.web.server import WebServer
from tests.api.support import ADMIN_KEY, KV_ONLY_KEY, api_config, base_url, running

#: headers whose values must match (date and server differ by nature)
COMPARED_HEADERS = ("content-type", "content-length", "www-authenticate", "retry-after")
LONG = "n" * 1024
TOO_LONG = "n" * 1025

Request = tuple[str, str, dict[str, str], bytes | None]


def get(namespace: str, query: str, headers: dict[str, str] | None = None) -> Request:
    return ("GET", f"/v4/keyvalues/{namespace}{'?' + query if query else ''}", headers or {}, None)


def post(namespace: str, body: Any, headers: dict[str, str] | None = None, *, raw: bool = False) -> Request:
    content = body if raw else json.dumps(body).encode()
    return (
        "POST",
        f"/v4/keyvalues/{namespace}",
        {"Content-Type": "application/json", **(headers or {})},
        content,
    )


#: (request, served by the fast path?)
CORPUS: list[tuple[Request, bool]] = [
    (post("ns", {"key": "a", "value": "1"}), True),
    (post("ns", {"key": "b", "value": "two", "ttl": 60000}), True),
    (post("ns", {"key": "c", "value": 12345.789, "ttl": "60000"}), True),
    (post("ns", {"key": 42, "value": True}), True),
    (post("ns", {"key": "ü ünïcode €", "value": "värde ✓", "extra": [1]}), True),
    (post(quote("Sales ETL step 2"), {"key": "Last extract", "value": "2020-09-29"}), True),
    (post(quote("a:b", safe=""), {"key": "c:d", "value": "1"}), True),
    (post(LONG, {"key": "k", "value": "v"}), True),
    (post("ns", {"key": "a", "value": "x"}, {"Content-Type": "application/json; charset=utf-8"}), True),
    (post("ns", {"key": "a", "value": "x"}, {"X-API-Key": "wrong-key-0123456789"}), True),
    (post("ns", {"key": "big", "value": "v" * 70_000}), True),  # over max_value_bytes: the service says 400
    (post("ns", {"key": "a", "value": "b", "ttl": -1}), False),
    (post("ns", {"key": "a", "value": "b", "ttl": "soon"}), False),
    (post("ns", {"key": "a", "value": "b", "ttl": 1e300}), False),
    (post("ns", {"key": "a"}), False),
    (post("ns", {"key": "", "value": "b"}), False),
    (post("ns", {"key": "k" * 1025, "value": "b"}), False),
    (post("ns", {"key": "a", "value": {"nested": 1}}), False),
    (post("ns", [1, 2]), False),
    (post("ns", None), False),
    (post("ns", b"{not json", raw=True), False),
    (post("ns", b"", raw=True), False),
    (post("ns", b'{"key": "nan", "value": NaN}', raw=True), True),
    (post("ns", b'{"key": "lone", "value": "\\ud800"}', raw=True), False),
    (post("ns", b'{"key": "d", "key": "e", "value": "dup"}', raw=True), True),
    (post("ns", {"key": "a", "value": "x"}, {"Content-Type": "text/plain"}), False),
    (post("ns", {"key": "a", "value": "x"}, {"Content-Type": "application/merge-patch+json"}), False),
    (post(TOO_LONG, {"key": "k", "value": "v"}), False),
    (post("%01bad", {"key": "k", "value": "v"}), False),
    (
        post("ns", {"key": "a", "value": "x"}, {"X-API-Key": "", "Authorization": f"Bearer {ADMIN_KEY}"}),
        False,
    ),
    (get("ns", "key=a"), True),
    (get("ns", "key=c"), True),
    (get("ns", f"key={quote('ü ünïcode €')}"), True),
    (get("ns", "key=d"), True),
    (get("ns", "key=e"), True),
    (get("ns", "key=lone"), True),
    (get("ns", "key=a&key=b"), True),
    (get("ns", "key=b&key="), False),
    (get("ns", "key=x+y&other=1"), True),
    (get("ns", "key=missing"), True),
    (get("unknown", "key=a"), True),
    (get(LONG, "key=k"), True),
    (get("ns", "key=a", {"X-API-Key": "wrong-key-0123456789"}), True),
    (get("ns", "key=a", {"X-API-Key": KV_ONLY_KEY}), True),
    (get("ns", ""), False),
    (get("ns", "key="), False),
    (get(TOO_LONG, "key=k"), False),
    (get("a%2Fb", "key=k"), False),
    (get("ns/", "key=a"), False),
    (get("ns", f"key=a&apikey={ADMIN_KEY}", {"X-API-Key": ""}), False),
    (get("ns", "key=a", {"X-API-Key": "", "Authorization": f"Bearer {ADMIN_KEY}"}), False),
    (get("ns", "key=a", {"X-API-Key": ""}), False),
]


def fast_path_of(app: Any) -> KeyValueFastPath:
    while not isinstance(app, KeyValueFastPath):
        app = app.app
    return app


@pytest.fixture
async def twins(tmp_path: Any) -> AsyncIterator[tuple[str, str, KeyValueFastPath]]:
    """The running API (with the fast path) and the FastAPI-only app on a second listener."""
    async with running(api_config(tmp_path)) as runtime:
        ctx, _ = make_context(runtime.config, runtime)
        mounts = WebMounts()
        for path, exact in MOUNTS:
            mounts.mount(path, asgi_app(ctx, fast_path=False), name=f"oracle {path}", exact=exact)
        oracle = WebServer("main", WebListener(host="127.0.0.1", port=0), mounts)
        await oracle.start()
        try:
            yield base_url(runtime), oracle.url, served_counter(runtime)
        finally:
            await oracle.stop()


def served_counter(runtime: Runtime) -> KeyValueFastPath:
    mount = next(m for m in runtime.web.mounts["main"] if m.path == "/v4/")
    return fast_path_of(mount.app)


async def answer(client: httpx.AsyncClient, url: str, request: Request) -> tuple[int, bytes, dict[str, str]]:
    method, path, headers, content = request
    response = await client.request(
        method, url + path, headers={"X-API-Key": ADMIN_KEY, **headers}, content=content
    )
    return (
        response.status_code,
        response.content,
        {name: response.headers[name] for name in COMPARED_HEADERS if name in response.headers},
    )


async def test_fast_path_answers_as_fastapi_does(twins: tuple[str, str, KeyValueFastPath]) -> None:
    fast_url, oracle_url, fast_path = twins
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        for request, served in CORPUS:
            before = fast_path.served
            fast = await answer(client, fast_url, request)
            oracle = await answer(client, oracle_url, request)
            assert fast == oracle, request
            assert fast_path.served - before == (1 if served else 0), request
