"""HTTPS transport shared by every Qlik client: mutual TLS, Xrfkey, timeouts, connection reuse.

Built on httpcore, the transport layer of httpx, without httpx's client layer (cookies, auth flows,
redirect handling, URL merging): for a few fixed GET endpoints that layer only costs CPU, and polling
hundreds of servers every few seconds makes that cost visible (see ``bench/polling.py``). Requests
run on plain asyncio streams (:mod:`sensebutler.qlik.asyncio_backend`).

One connection pool per origin (host, port), all sharing one TLS context: lookup stays constant-time
however many servers are monitored, and a slow or dead server's connections never occupy slots
another server needs. Redirects are not followed (Qlik's APIs do not redirect); a 3xx is an error.
Environment proxy settings play no part: Qlik's APIs are reached directly, as client certificates
require.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from urllib.parse import urlencode

import httpcore

from sensebutler import __version__
from sensebutler.qlik.asyncio_backend import AsyncioBackend
from sensebutler.qlik.errors import QlikError, status_error, transport_error
from sensebutler.qlik.xrfkey import new_xrfkey

#: idle connections are closed after this long: below the 120 s idle timeout of Sense's HTTP.sys (which
#: the simulator copies), so a reused connection is rarely one the server is closing, and above the
#: usual polling intervals, so each poll reuses the previous poll's connection
KEEPALIVE_S = 90.0
MAX_CONNECTIONS_PER_ORIGIN = 10
USER_AGENT = f"sensebutler/{__version__}"


def origin(host: str, port: int) -> str:
    """``https://host:port``, with IPv6 literals in brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}"


class _HandshakeWatch:
    """httpcore trace hook: did this request open a new TLS connection?

    Under TLS 1.3 a server that rejects the client certificate does so after the client considers
    the handshake done, so the client only sees the connection reset when it reads the response.
    Knowing the connection was fresh tells that apart from an ordinary reset.
    """

    __slots__ = ("fresh_tls",)

    def __init__(self) -> None:
        self.fresh_tls = False

    async def __call__(self, name: str, info: Mapping[str, object]) -> None:
        if name == "connection.start_tls.complete":
            self.fresh_tls = True


class QlikHttp:
    """Sends requests to Qlik services and turns every failure into a :class:`QlikError`."""

    def __init__(self, ssl_context: ssl.SSLContext, *, keepalive_s: float = KEEPALIVE_S) -> None:
        self._ssl = ssl_context
        self._keepalive_s = keepalive_s
        self._backend = AsyncioBackend()
        self._pools: dict[str, tuple[httpcore.AsyncConnectionPool, asyncio.Semaphore]] = {}

    def _pool(self, base: str) -> tuple[httpcore.AsyncConnectionPool, asyncio.Semaphore]:
        """The origin's connection pool and the gate that admits one request per connection.

        Requests wait at the gate rather than in the pool: httpcore's pool re-examines every queued
        request each time a connection frees, which costs O(queued x connections) per request and
        took a quarter of the service's CPU in a burst of reload alerts.
        """
        found = self._pools.get(base)
        if found is None:
            pool = httpcore.AsyncConnectionPool(
                ssl_context=self._ssl,
                max_connections=MAX_CONNECTIONS_PER_ORIGIN,
                max_keepalive_connections=MAX_CONNECTIONS_PER_ORIGIN,
                keepalive_expiry=self._keepalive_s,
                network_backend=self._backend,
            )
            found = self._pools[base] = (pool, asyncio.Semaphore(MAX_CONNECTIONS_PER_ORIGIN))
        return found

    async def get(
        self,
        base: str,
        path: str,
        *,
        timeout_s: float,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        xrf: bool = False,
    ) -> bytes:
        """The body of a successful (2xx) ``GET base+path``.

        ``xrf`` adds a fresh Xrfkey as query parameter and header (QRS and QPS require it).
        """
        return await self.request(
            "GET", base, path, timeout_s=timeout_s, headers=headers, params=params, xrf=xrf
        )

    async def request(
        self,
        method: str,
        base: str,
        path: str,
        *,
        timeout_s: float,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        xrf: bool = False,
        body: bytes | None = None,
    ) -> bytes:
        """The body of a successful (2xx) ``<method> base+path``; ``body`` is sent as JSON."""
        host = base.removeprefix("https://")
        endpoint = f"{method} {path}"
        request_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if body is not None:
            request_headers["Content-Type"] = "application/json"
        if headers:
            request_headers.update(headers)
        query = dict(params) if params else {}
        if xrf:
            key = new_xrfkey()
            query["xrfkey"] = key
            request_headers["X-Qlik-Xrfkey"] = key
        url = base + path + ("?" + urlencode(query) if query else "")
        watch = _HandshakeWatch()
        timeouts = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
        pool, gate = self._pool(base)
        try:
            async with asyncio.timeout(timeout_s):  # the pool timeout, spent at the gate
                await gate.acquire()
        except TimeoutError as exc:
            raise transport_error(exc, host, endpoint, timeout_s) from exc
        try:
            response = await pool.request(
                method,
                url,
                headers=list(request_headers.items()),
                content=body,
                extensions={"timeout": timeouts, "trace": watch},
            )
        except (httpcore.NetworkError, httpcore.TimeoutException, httpcore.ProtocolError, OSError) as exc:
            raise transport_error(exc, host, endpoint, timeout_s, fresh_tls=watch.fresh_tls) from exc
        finally:
            gate.release()
        if not 200 <= response.status < 300:
            raise status_error(response.status, host, endpoint, response.content)
        return response.content

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool, _ in pools:
            await pool.aclose()


def bad_response(base: str, path: str, detail: str) -> QlikError:
    return QlikError("bad_response", base.removeprefix("https://"), f"GET {path}", detail)
