"""A trickle of datagrams is read in a few batches, not one wake-up per datagram or two."""

from __future__ import annotations

import asyncio
import socket

from sensebutler.config.udp import UdpInputSection
from sensebutler.sources.udp.listener import UdpListener
from tests.fixtures.net import async_wait_until

SENT = 60


async def test_a_trickle_is_handled_in_a_few_batches() -> None:
    batches: list[int] = []
    settings = UdpInputSection(enable=True, host="127.0.0.1", port=0)
    listener = UdpListener(
        "udp test", settings, lambda datagrams, received_ns: batches.append(len(datagrams))
    )
    await listener.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for i in range(SENT):  # about 100 datagrams/s
                sender.sendto(f"datagram {i}".encode(), ("127.0.0.1", listener.port))
                await asyncio.sleep(0.01)
        await async_wait_until(lambda: sum(batches) == SENT, 30, "every datagram handled")
    finally:
        await listener.stop()
    # a fixed 20 ms wait would make ~30 batches of two; waiting for ~1,000 datagrams (at most 1 s)
    # makes one or two batches of the 0.6 s of sending
    assert len(batches) <= 15, batches
    assert listener.stats.received == SENT
