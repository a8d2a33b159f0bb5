"""HTTPS transport shared by every Qlik client: mutual TLS, Xrfkey, timeouts, connection reuse.

One ``httpx.AsyncClient`` per origin (scheme, host, port), all sharing one TLS context. A pool per
origin keeps connection lookup constant-time however many servers are monitored, and keeps a slow or
dead server's connections from occupying slots another server needs. Environment proxy settings are
ignored (``trust_env=False``): Qlik's APIs are reached directly, as client certificates require.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import httpx

from sensebutler.qlik.errors import QlikError, status_error, transport_error
from sensebutler.qlik.xrfkey import new_xrfkey

#: idle connections are closed after this long; below the idle timeouts of Sense's HTTP.sys (120 s)
#: and the simulator (30 s), so a reused connection is rarely one the server is closing
KEEPALIVE_S = 25.0
MAX_CONNECTIONS_PER_ORIGIN = 10
MAX_REDIRECTS = 5


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
        self._limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS_PER_ORIGIN,
            max_keepalive_connections=2,
            keepalive_expiry=keepalive_s,
        )
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, base: str) -> httpx.AsyncClient:
        client = self._clients.get(base)
        if client is None:
            client = httpx.AsyncClient(
                base_url=base,
                verify=self._ssl,
                limits=self._limits,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                trust_env=False,
            )
            self._clients[base] = client
        return client

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
        host = base.removeprefix("https://").removeprefix("http://")
        endpoint = f"GET {path}"
        request_headers = dict(headers) if headers else {}
        query = dict(params) if params else {}
        if xrf:
            key = new_xrfkey()
            query["xrfkey"] = key
            request_headers["X-Qlik-Xrfkey"] = key
        watch = _HandshakeWatch()
        try:
            response = await self._client(base).get(
                path,
                params=query or None,
                headers=request_headers,
                timeout=timeout_s,
                extensions={"trace": watch},
            )
        except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
            raise transport_error(exc, host, endpoint, timeout_s, fresh_tls=watch.fresh_tls) from exc
        if not 200 <= response.status_code < 300:
            raise status_error(response.status_code, host, endpoint, response.content)
        return response.content

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def bad_response(base: str, path: str, detail: str) -> QlikError:
    return QlikError("bad_response", base.removeprefix("https://"), f"GET {path}", detail)
