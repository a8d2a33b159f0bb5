"""The one error every Qlik call raises: what failed (host, endpoint) and a category for counters.

Categories are a small fixed set so they can label metrics: ``timeout``, ``connection_refused``,
``connection_error`` (reset, unreachable), ``dns_error``, ``tls_error`` (handshake failed or the
server refused our client certificate), ``http_4xx``, ``http_5xx``, ``http_status`` (any other
non-success status), ``bad_response`` (not the JSON shape the endpoint documents), and for the QIX
websocket ``not_found`` (the engine has no such app or object) and ``engine_error`` (any other
JSON-RPC error the engine answered; ``QlikError.engine_code`` holds its code).
"""

from __future__ import annotations

import errno
import socket
import ssl
from typing import Literal

import httpcore

Category = Literal[
    "timeout",
    "connection_refused",
    "connection_error",
    "dns_error",
    "tls_error",
    "http_4xx",
    "http_5xx",
    "http_status",
    "bad_response",
    "not_found",
    "engine_error",
]


class QlikError(Exception):
    """A Qlik Sense call that did not produce the expected answer."""

    def __init__(
        self,
        category: Category,
        host: str,
        endpoint: str,
        detail: str,
        *,
        status: int | None = None,
        code: str = "",
        engine_code: int | None = None,
    ) -> None:
        super().__init__(f"{endpoint} on {host}: {detail} ({category})")
        self.category: Category = category
        self.host = host
        self.endpoint = endpoint
        self.detail = detail
        self.status = status
        #: the socket error's name as Node.js reports it (``ECONNRESET``, ``ECONNREFUSED``, ...), or ""
        self.code = code
        #: the engine's error code (QIX ``error.code``), when the engine answered with an error
        self.engine_code = engine_code


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def transport_error(
    exc: Exception, host: str, endpoint: str, timeout_s: float, *, fresh_tls: bool = False
) -> QlikError:
    """Classify an httpcore transport failure (or a timeout) by what the socket layer reported.

    ``fresh_tls``: the request had just completed a TLS handshake on a new connection. If the server
    then drops the connection before answering, it refused our client certificate (TLS 1.3 reports
    that refusal after the handshake, typically as a reset).
    """
    if isinstance(exc, (httpcore.TimeoutException, TimeoutError)):
        # ECONNABORTED: what Node's axios reports for its own request timeout
        return QlikError("timeout", host, endpoint, f"no answer within {timeout_s:g} s", code="ECONNABORTED")
    causes = _causes(exc)
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        # verify_message says why a certificate was refused ("Hostname mismatch, certificate is not
        # valid for 'x'"); reason is only OpenSSL's code (CERTIFICATE_VERIFY_FAILED)
        reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
        code = f"ERR_SSL_{tls.reason}" if getattr(tls, "reason", None) else ""
        return QlikError("tls_error", host, endpoint, f"TLS failed: {reason}", code=code)
    if fresh_tls and isinstance(exc, (httpcore.ReadError, httpcore.RemoteProtocolError, httpcore.WriteError)):
        return QlikError(
            "tls_error",
            host,
            endpoint,
            "connection closed right after the TLS handshake (client certificate refused?)",
            code="ECONNRESET",
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return QlikError("connection_refused", host, endpoint, "connection refused", code="ECONNREFUSED")
    if any(isinstance(c, socket.gaierror) for c in causes):
        return QlikError("dns_error", host, endpoint, "host name does not resolve", code="ENOTFOUND")
    if any(isinstance(c, UnicodeError) for c in causes):
        return QlikError("dns_error", host, endpoint, "not a valid host name", code="ENOTFOUND")
    detail = str(exc) or type(exc).__name__
    return QlikError("connection_error", host, endpoint, detail, code=_errno_name(causes))


def _errno_name(causes: list[BaseException]) -> str:
    """``ECONNRESET`` etc. from the first OS error in the chain; a closed stream counts as a reset."""
    for cause in causes:
        number = getattr(cause, "errno", None)
        if isinstance(cause, OSError) and isinstance(number, int) and number in errno.errorcode:
            return errno.errorcode[number]
    if any(
        isinstance(c, (httpcore.ReadError, httpcore.RemoteProtocolError, ConnectionResetError))
        for c in causes
    ):
        return "ECONNRESET"
    return ""


def status_error(status: int, host: str, endpoint: str, body: bytes) -> QlikError:
    category: Category = "http_4xx" if 400 <= status < 500 else "http_5xx" if status >= 500 else "http_status"
    text = body[:200].decode("utf-8", "replace").strip()
    detail = f"HTTP {status}" + (f": {text}" if text else "")
    return QlikError(category, host, endpoint, detail, status=status)
