"""POST requests to one InfluxDB over keep-alive HTTP/1.1 connections on plain asyncio streams.

A write is one request with a known body and a short answer, sent a few times a second at most;
httpx (its client, httpcore's pool, anyio's streams) cost ~650–1,000 µs of CPU per write here
against ~15–160 µs for the same exchange on an asyncio stream, which at 20,000 events/s in batches
of 1,000 was ~0.7 µs of every event. This client does only what the writes need: HTTP/1.1 POST
with ``Content-Length``, answers with ``Content-Length``, chunked or read-to-close bodies,
keep-alive (``Connection: close`` and HTTP/1.0 honoured), TLS by the event loop's transport, one
timeout for the whole exchange. A request on a reused connection that the server had closed
(nothing of the answer arrived) is sent again once on a new connection. Redirects are not
followed (the caller reports them). Everything that goes wrong raises :class:`WriteFailed` with
the cause kept.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode, urlsplit

from sensebutler import __version__

#: the longest head (status line and headers) or chunk-size line an answer may have
_HEAD_LIMIT = 1024 * 1024
#: the most of an answer's body that is kept (InfluxDB's error texts are short)
_BODY_LIMIT = 1024 * 1024
USER_AGENT = f"sensebutler/{__version__}"


class WriteFailed(Exception):
    """The request could not be sent or its answer not read; ``timed_out`` for the timeout."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    #: header names in lower case (a repeated header keeps its last value)
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class WriteClient:
    """POSTs to ``url`` + a path, with fixed headers; keeps idle connections for the next request."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        auth: tuple[str, str] | None,
        ssl_context: ssl.SSLContext | None,
        timeout_s: float,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._prefix = parts.path.rstrip("/")
        self._ssl = (ssl_context or ssl.create_default_context()) if self._tls else None
        self.timeout_s = timeout_s
        host = f"[{self._host}]" if ":" in self._host else self._host
        default_port = self._port == (443 if self._tls else 80)
        fixed = {"Host": host if default_port else f"{host}:{self._port}", "User-Agent": USER_AGENT}
        if auth is None and parts.username is not None:  # user info in the URL, as httpx takes it
            auth = (unquote(parts.username), unquote(parts.password or ""))
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            fixed["Authorization"] = f"Basic {token}"
        fixed.update(headers)
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._idle: list[_Connection] = []
        self._closed = False

    def target(self, path: str, params: dict[str, str]) -> str:
        """The request target for ``path`` (below the URL's own path) and query ``params``."""
        query = urlencode(params, quote_via=quote)
        return f"{self._prefix}{path}?{query}" if query else f"{self._prefix}{path}"

    async def post(self, target: str, body: bytes, content_type: str) -> Answer:
        head = (
            f"POST {target} HTTP/1.1\r\n{self._head}Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        try:
            async with asyncio.timeout(self.timeout_s):
                while self._idle:  # a reused connection may have been closed by the server meanwhile
                    connection = self._idle.pop()
                    answer = await self._exchange(connection, head, body, reused=True)
                    if answer is not None:
                        return answer
                answer = await self._exchange(await self._connect(), head, body, reused=False)
                assert answer is not None
                return answer
        except TimeoutError as exc:
            raise WriteFailed(f"no answer within {self.timeout_s:g} s", timed_out=True) from exc

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl is not None else None,
                limit=_HEAD_LIMIT,
            )
        except (OSError, ssl.SSLError, UnicodeError) as exc:
            raise WriteFailed(f"cannot connect: {type(exc).__name__}: {exc}") from exc
        return _Connection(reader, writer)

    async def _exchange(
        self, connection: _Connection, head: bytes, body: bytes, *, reused: bool
    ) -> Answer | None:
        """Send and read the answer; None when a reused connection turned out closed before any of
        the answer arrived (the caller tries another). The connection is kept only after a whole
        answer that allows it; on any failure or cancellation it is closed."""
        keep = False
        started = False
        try:
            writer = connection.writer
            writer.write(head)
            writer.write(body)
            await writer.drain()
            reader = connection.reader
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionResetError("the server closed the connection")
            started = True
            answer, keep = await _read_answer(reader, status_line)
            return answer
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            if reused and not started:
                return None
            raise WriteFailed(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:
            raise WriteFailed(f"unreadable answer: {exc}") from exc
        finally:
            if keep and not self._closed:
                self._idle.append(connection)
            else:
                connection.close()


async def _read_answer(reader: asyncio.StreamReader, status_line: bytes) -> tuple[Answer, bool]:
    """The answer after its status line, and whether the connection may be reused."""
    while True:
        version, status, reason = _status(status_line)
        headers = await _headers(reader)
        if 100 <= status < 200:  # an interim answer (not asked for): the real one follows
            status_line = await reader.readline()
            if not status_line:
                raise asyncio.IncompleteReadError(b"", None)
            continue
        break
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    if status in (204, 304):
        return Answer(status, reason, headers, b""), keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length < 0:
            raise ValueError(f"Content-Length {length}")
        body = await reader.readexactly(length) if length <= _BODY_LIMIT else b""
        if length > _BODY_LIMIT:  # not kept, and the connection is not reused
            keep = False
    else:  # the body ends with the connection
        body = await reader.read(_BODY_LIMIT)
        keep = False
    return Answer(status, reason, headers, body), keep


def _status(line: bytes) -> tuple[str, int, str]:
    text = line.decode("latin-1").rstrip("\r\n")
    version, _, rest = text.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ValueError(f"status line {text[:100]!r}")
    return version, int(code), reason


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    """Header lines up to the empty line that ends them (names in lower case)."""
    headers: dict[str, str] = {}
    for line in await _lines(reader):
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"header line {line[:100]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


async def _lines(reader: asyncio.StreamReader) -> list[str]:
    """Lines up to and without the empty one that ends them."""
    lines: list[str] = []
    while True:
        line = await reader.readuntil(b"\n")
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            return lines
        lines.append(text)
        if len(lines) > 1000:
            raise ValueError("more than 1,000 header lines")


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size < 0:
            raise ValueError(f"chunk size {size}")
        if size == 0:
            await _lines(reader)  # trailers, if any, and the empty line
            return bytes(body)
        chunk = await reader.readexactly(size)
        await reader.readuntil(b"\n")
        if len(body) < _BODY_LIMIT:
            body += chunk[: _BODY_LIMIT - len(body)]


__all__ = ["USER_AGENT", "Answer", "WriteClient", "WriteFailed"]
