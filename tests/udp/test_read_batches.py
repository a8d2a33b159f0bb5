"""A trickle of datagrams is read in a few batches, not one wake-up per datagram or two; a burst is
read without waiting for the end of a quiet input's long wait."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sensebutler.config.udp import UdpInputSection
from sensebutler.sources.udp.listener import GATHER, UdpListener
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


async def test_a_burst_ends_a_long_wait_once_a_batch_is_queued() -> None:
    """The wait for a batch is long when the input is quiet; a burst that queues a batch's worth is
    read at the next look at the queue (Linux), not when the long wait ends."""
    batches: list[int] = []
    settings = UdpInputSection(enable=True, host="127.0.0.1", port=0, receive="loop")
    listener = UdpListener(
        "udp test",
        settings,
        lambda datagrams, received_ns: batches.append(len(datagrams)),
        max_gather_s=300.0,  # without looking at the queue, nothing would be read for 5 minutes
    )
    await listener.start()
    try:
        if not listener._probing:
            pytest.skip("the receive queue cannot be looked at here (SO_MEMINFO is Linux only)")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for i in range(3 * GATHER):
                sender.sendto(f"datagram {i}".encode(), ("127.0.0.1", listener.port))
                if i % 200 == 0:
                    await asyncio.sleep(0)
        await async_wait_until(lambda: sum(batches) >= GATHER, 60, "a batch read before the long wait ends")
    finally:
        await listener.stop()
