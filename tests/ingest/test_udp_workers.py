"""``udp.log_events.workers``: several receiver processes on one port, over real sockets and a real
HTTP receiver standing in for InfluxDB."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from pathlib import Path

import pytest

from sensebutler import app
from sensebutler.config import parse_config
from sensebutler.runtime import Runtime
from sensebutler.sources.udp.reuseport_spread import attach_random_spread, random_spread_program
from sensebutler.sources.udp.workers import LogEventWorkers
from tests.fixtures.net import async_wait_until, free_udp_port
from tests.fixtures.servers import HttpReceiver

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT + cBPF: Linux only"
)

COUNT = 2000


def engine_datagram(n: int) -> bytes:
    return (
        f"/qseow-engine/;{n};20240115T094512.123+0100;2024-01-15 09:45:12,123;WARN;QS-PROD-01;System.Engine.Engine;"
        f"ACME\\svc-qlik;datagram-{n};a0b1c2d3-1111-2222-3333-444455556666;ACME;jdoe;"
        "2024-01-15T09:45:12.120+01:00;5e1f1f1f-aaaa-bbbb-cccc-ddddeeeeffff;14.173.8;2024-01-10T03:00:01.000+01:00;"
        "Warning;0f0e0d0c-1234-4abc-9def-001122334455;7d5f6e2a-1111-2222-3333-444444444444"
    ).encode()


def test_the_program_is_random_modulo_the_group_size() -> None:
    assert random_spread_program(3) == [(0x20, 0, 0, 0xFFFFF038), (0x94, 0, 0, 3), (0x16, 0, 0, 0)]
    with pytest.raises(ValueError):
        random_spread_program(0)


def test_one_sender_is_spread_over_every_socket_of_the_group() -> None:
    sockets = []
    try:
        for _ in range(3):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            sock.bind(("127.0.0.1", sockets[0].getsockname()[1] if sockets else 0))
            sock.setblocking(False)
            sockets.append(sock)
        attach_random_spread(sockets[0], 3)
        with socket.socket(
            socket.AF_INET, socket.SOCK_DGRAM
        ) as sender:  # one flow: plain reuseport = one socket
            for _ in range(600):
                sender.sendto(b"x", sockets[0].getsockname())
        counts = [0, 0, 0]

        def drain() -> int:
            for index, sock in enumerate(sockets):
                with contextlib.suppress(BlockingIOError):
                    while True:
                        sock.recv(16)
                        counts[index] += 1
            return sum(counts)

        async def wait() -> None:
            await async_wait_until(lambda: drain() == 600, 30, f"600 datagrams read (got {counts})")

        asyncio.run(wait())
        assert min(counts) >= 100, counts  # binomial(600, 1/3): below 100 is practically impossible
    finally:
        for sock in sockets:
            sock.close()


async def test_two_workers_share_one_senders_datagrams_and_count_each_once(tmp_path: Path) -> None:
    receiver = HttpReceiver()
    receiver.start()
    port = free_udp_port()
    config = parse_config(
        f"""
state: {{dir: {tmp_path}}}
udp:
  metrics: {{enable: true, interval_s: 3600}}
  log_events: {{enable: true, host: 127.0.0.1, port: {port}, workers: 2, receive_buffer_mb: 8}}
delivery: {{batch_size: 500, flush_interval_s: 0.1}}
influxdb:
  enable: true
  version: 1
  url: {receiver.url}
  events: [log]
  v1: {{database: workers, create_database: false}}
""",
        "test",
        {},
    )
    stop = asyncio.Event()
    ready: asyncio.Future[Runtime] = asyncio.get_running_loop().create_future()

    async def started(runtime: Runtime) -> None:
        ready.set_result(runtime)

    service = asyncio.create_task(app.run(config, stop, ready=started))
    try:
        runtime = await asyncio.wait_for(ready, 120)
        workers = next(c for c in runtime.components if isinstance(c, LogEventWorkers))
        handler = workers.udp_input.handler
        processes = [w.process for w in workers.workers]
        assert len(processes) == 1 and processes[0].is_alive()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for n in range(1, COUNT + 1):
                sender.sendto(engine_datagram(n), ("127.0.0.1", port))
                if n % 100 == 0:
                    await asyncio.sleep(0.01)  # stay well inside the receive buffers

        def lines() -> list[str]:
            return [
                line
                for request in receiver.requests_to("/write")
                for line in request.text().splitlines()
                if line
            ]

        await async_wait_until(lambda: len(lines()) >= COUNT, 60, f"{COUNT} lines written")
        await async_wait_until(
            lambda: handler.stats.received == COUNT,
            30,
            f"merged received == {COUNT} ({handler.stats.received})",
        )
        written = sorted(int(line.split('message="datagram-')[1].split('"')[0]) for line in lines())
        assert written == list(range(1, COUNT + 1))  # every datagram once, none twice
        share = workers.workers[0].last.received  # what worker 1 handled; the service did the rest
        assert COUNT * 0.3 < share < COUNT * 0.7, share  # one sender, spread over both
        influx = runtime.router.sinks[0].stats()
        assert influx is not None
        await async_wait_until(
            lambda: influx.delivered == COUNT, 30, f"merged delivered ({influx.delivered})"
        )
        assert handler.stats.published == COUNT
        assert workers.kernel_drops() == 0
    finally:
        stop.set()
        await asyncio.wait_for(service, 60)
        receiver.stop()
    assert not processes[0].is_alive()  # the worker stopped with the service
