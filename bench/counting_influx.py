"""A minimal InfluxDB-compatible write endpoint that counts lines: the cheap receiver of the benchmarks.

``bench/udp_ingest.py --sink counting`` points sensebutler's InfluxDB v1 sink here instead of a real
influxd, so the benchmark measures sensebutler and not InfluxDB (which needs ~60 µs of CPU per point
on the benchmark machine). It runs in its own process on plain asyncio streams (HTTP/1.1 with
keep-alive, nothing else) and costs a few percent of one core at 20,000 lines/s:

* ``POST /write`` (also ``/api/v2/write`` and ``/api/v3/write_lp``): every line is counted and has
  its separators and integer timestamp checked; every 8th line (and every marker) is checked against
  the whole line-protocol grammar (measurement and tags, fields, time: one regular expression);
  lines that fail are counted as bad; the answer is 204;
* marker lines (tag ``host=<marker host>``, field ``message="...-<n>"``) get the time they arrived;
* ``GET /stats?db=<database>``: what was written to that database, ``{"lines": .., "bad": .., "requests": .., "bad_examples": [...], "markers":
  {"<n>": <unix time>}}``; ``POST /query`` and ``GET /ping`` answer as InfluxDB does for a bootstrap.
"""

from __future__ import annotations

import asyncio
import json
import re
import time


def _run(excluded: bytes) -> bytes:
    """Characters other than ``excluded`` and backslash escapes (unrolled loop: linear, no backtracking)."""
    return rb"[^%s\\]*+(?:\\.[^%s\\]*+)*+" % (excluded, excluded)


_NAME, _KEY, _TAG_VALUE = _run(b" ,"), _run(b" ,="), _run(b" ,")
_VALUE = rb'(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^ ,"\\]++)'
_FIELD = _KEY + rb"=" + _VALUE
#: measurement and tags, a space, fields (quoted strings may hold spaces), a space, an integer time
_LINE = re.compile(
    _NAME + rb"(?:," + _KEY + rb"=" + _TAG_VALUE + rb")*+ " + _FIELD + rb"(?:," + _FIELD + rb")*+ -?\d++",
    re.DOTALL,
)
FULL_CHECK_EVERY = 8
_MARKER = re.compile(rb'message="[^"]*-(\d+)"')


class Counter:
    def __init__(self, marker_host: str) -> None:
        self.lines = 0
        self.bad = 0
        self.requests = 0
        self.bad_examples: list[str] = []
        self.markers: dict[str, float] = {}
        self.marker_tag = f",host={marker_host},".encode()

    def take(self, body: bytes) -> None:
        now = time.time()
        self.requests += 1
        match = _LINE.fullmatch
        marker_tag = self.marker_tag
        lines = body.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        self.lines += len(lines)
        for index, line in enumerate(lines):
            # every line: an integer time after the last space and a space before it; every
            # FULL_CHECK_EVERY-th line (and any marker) the whole grammar (7 µs a line: all would
            # cost 15 % of a core at 20,000 lines/s)
            head, _, stamp = line.rpartition(b" ")
            if not head or not stamp.lstrip(b"-").isdigit() or b" " not in head:
                self._bad(line)
            elif marker_tag in line:
                if match(line) is None:
                    self._bad(line)
                    continue
                found = _MARKER.search(line)
                if found:
                    self.markers.setdefault(found.group(1).decode(), now)
            elif index % FULL_CHECK_EVERY == 0 and match(line) is None:
                self._bad(line)

    def _bad(self, line: bytes) -> None:
        self.bad += 1
        if len(self.bad_examples) < 5:
            self.bad_examples.append(line[:300].decode("utf-8", "replace"))

    def stats(self) -> bytes:
        return json.dumps(
            {
                "lines": self.lines,
                "bad": self.bad,
                "requests": self.requests,
                "bad_examples": self.bad_examples,
                "markers": self.markers,
            }
        ).encode()


def _database(target: str) -> str:
    query = target.partition("?")[2]
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name in ("db", "bucket"):
            return value
    return ""


async def _serve_connection(
    counters: dict[str, Counter], marker_host: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            length = 0
            for header in header_lines:
                name, _, value = header.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            path = target.split("?", 1)[0]
            status, payload, kind = "204 No Content", b"", "text/plain"
            if method == "POST" and path in ("/write", "/api/v2/write", "/api/v3/write_lp"):
                database = _database(target)
                if database not in counters:
                    counters[database] = Counter(marker_host)
                counters[database].take(body)
            elif path == "/stats":
                counter = counters.get(_database(target)) or Counter(marker_host)
                status, payload, kind = "200 OK", counter.stats(), "application/json"
            elif path == "/query":
                status, payload, kind = "200 OK", b'{"results":[{"statement_id":0}]}', "application/json"
            elif path != "/ping":
                status = "404 Not Found"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
                f"X-Influxdb-Version: 1.8-counting\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve(port: int, marker_host: str, ready: object) -> None:
    """Run until killed (the benchmark terminates the process); ``ready`` is set once listening."""

    async def main() -> None:
        counters: dict[str, Counter] = {}
        server = await asyncio.start_server(
            lambda r, w: _serve_connection(counters, marker_host, r, w), "127.0.0.1", port, limit=1 << 24
        )
        ready.set()  # type: ignore[attr-defined]
        async with server:
            await server.serve_forever()

    asyncio.run(main())
