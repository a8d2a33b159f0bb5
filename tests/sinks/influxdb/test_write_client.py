"""The InfluxDB write client against a real TCP server that answers with scripted raw HTTP:
bodies by length, chunked or to the close, keep-alive and its end, a kept connection the server
closed meanwhile, interim answers, a URL with a path and user info, timeouts."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest

from sensebutler.sinks.influxdb.write_client import WriteClient, WriteFailed


class RawServer:
    """Reads each request (head and Content-Length body) and plays the next scripted answer; an
    answer ``None`` closes the connection without answering; ``close_after`` closes after it."""

    def __init__(self) -> None:
        self.answers: list[tuple[bytes | None, bool]] = []
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0
        self.open: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    def script(self, answer: bytes | None, *, close_after: bool = False) -> None:
        self.answers.append((answer, close_after))

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        for writer in self.open:
            writer.close()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open.append(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *lines = head.split("\r\n")
                headers = {n.strip().lower(): v.strip() for n, _, v in (x.partition(":") for x in lines if x)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((request_line, headers, body))
                answer, close_after = self.answers.pop(0)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    async with RawServer() as server:
        yield server


def client(server: RawServer, url: str | None = None, timeout_s: float = 10.0) -> WriteClient:
    return WriteClient(
        url or f"http://127.0.0.1:{server.port}",
        headers={"Authorization": "Token t"},
        auth=None,
        ssl_context=None,
        timeout_s=timeout_s,
    )


NO_CONTENT = b"HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.8\r\n\r\n"


async def test_keep_alive_reuses_one_connection_and_sends_the_request_as_asked(raw: RawServer) -> None:
    raw.script(NO_CONTENT)
    raw.script(NO_CONTENT)
    writes = client(raw)
    target = writes.target("/write", {"db": "my db", "precision": "ns"})
    assert target == "/write?db=my%20db&precision=ns"
    first = await writes.post(target, b"m f=1 1\nm f=2 2", "text/plain; charset=utf-8")
    second = await writes.post(target, b"m f=3 3", "text/plain; charset=utf-8")
    await writes.aclose()
    assert (first.status, second.status, raw.connections) == (204, 204, 1)
    request_line, headers, body = raw.requests[0]
    assert request_line == "POST /write?db=my%20db&precision=ns HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{raw.port}"
    assert headers["authorization"] == "Token t"
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body == b"m f=1 1\nm f=2 2"


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b'HTTP/1.1 400 Bad Request\r\nContent-Length: 17\r\n\r\n{"error":"x y z"}', b'{"error":"x y z"}'),
        (
            b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
            b"hello world",
        ),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno", b"no"),
    ],
)
async def test_answer_bodies_by_length_chunked_and_after_an_interim_answer(
    raw: RawServer, answer: bytes, body: bytes
) -> None:
    raw.script(answer)
    raw.script(NO_CONTENT)
    writes = client(raw)
    got = await writes.post("/write", b"m f=1 1", "text/plain")
    assert got.body == body
    assert (await writes.post("/write", b"m f=1 1", "text/plain")).status == 204
    assert raw.connections == 1  # the body was read to its end: the connection stays usable
    await writes.aclose()


async def test_a_body_to_the_close_and_connection_close_end_the_connection(raw: RawServer) -> None:
    raw.script(b"HTTP/1.0 503 Service Unavailable\r\n\r\nbusy", close_after=True)
    raw.script(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", close_after=True)
    raw.script(NO_CONTENT)
    writes = client(raw)
    first = await writes.post("/write", b"a", "text/plain")
    assert (first.status, first.reason, first.body) == (503, "Service Unavailable", b"busy")
    assert (await writes.post("/write", b"b", "text/plain")).status == 204
    assert (await writes.post("/write", b"c", "text/plain")).status == 204
    assert raw.connections == 3
    await writes.aclose()


async def test_a_kept_connection_the_server_closed_is_replaced_and_the_request_sent_again(
    raw: RawServer,
) -> None:
    raw.script(NO_CONTENT)
    raw.script(None)  # the server drops the kept connection when the next request comes
    raw.script(NO_CONTENT)
    writes = client(raw)
    await writes.post("/write", b"a", "text/plain")
    assert (await writes.post("/write", b"b", "text/plain")).status == 204
    assert [body for _, _, body in raw.requests] == [b"a", b"b", b"b"]
    assert raw.connections == 2
    await writes.aclose()


async def test_a_new_connection_that_closes_without_an_answer_fails(raw: RawServer) -> None:
    raw.script(None)
    writes = client(raw)
    with pytest.raises(WriteFailed) as failed:
        await writes.post("/write", b"a", "text/plain")
    assert not failed.value.timed_out
    await writes.aclose()


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ],
)
async def test_an_unreadable_answer_fails_clearly_and_the_next_write_works(raw: RawServer, garbage: bytes) -> None:
    raw.script(garbage, close_after=True)
    raw.script(b"HTTP/1.1 204 No Content\r\n\r\n")
    writes = client(raw)
    try:
        with pytest.raises(WriteFailed, match="unreadable answer") as failed:
            await writes.post("/write", b"a", "text/plain")
        assert not failed.value.timed_out
        answer = await writes.post("/write", b"b", "text/plain")
        assert answer.status == 204
    finally:
        await writes.aclose()


async def test_no_answer_within_the_timeout_fails_as_a_timeout() -> None:
    hold: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hold.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    writes = WriteClient(f"http://127.0.0.1:{port}", headers={}, auth=None, ssl_context=None, timeout_s=0.3)
    try:
        with pytest.raises(WriteFailed) as failed:
            await writes.post("/write", b"a", "text/plain")
        assert failed.value.timed_out
    finally:
        await writes.aclose()
        for writer in hold:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_url_path_prefix_and_user_info(raw: RawServer) -> None:
    raw.script(NO_CONTENT)
    writes = client(raw, f"http://us%20er:p%40ss@127.0.0.1:{raw.port}/influx/")
    await writes.post(writes.target("/write", {"db": "x"}), b"a", "text/plain")
    await writes.aclose()
    request_line, headers, _ = raw.requests[0]
    assert request_line == "POST /influx/write?db=x HTTP/1.1"
    assert headers["authorization"] == "Token t"  # the configured header wins over the URL's user
    raw.script(NO_CONTENT)
    basic = WriteClient(
        f"http://us%20er:p%40ss@127.0.0.1:{raw.port}", headers={}, auth=None, ssl_context=None, timeout_s=5
    )
    await basic.post("/write", b"a", "text/plain")
    await basic.aclose()
    assert raw.requests[1][1]["authorization"] == "Basic " + base64.b64encode(b"us er:p@ss").decode()
