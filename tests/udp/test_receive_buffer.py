"""The receive buffer: what the OS grants, read correctly, and a loud warning when it is less."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

import pytest

from sensebutler.config.udp import UdpInputSection
from sensebutler.sources.udp.listener import UdpListener
from sensebutler.sources.udp.receive_buffer import (
    LINUX_MAX_BYTES,
    from_reported,
    set_receive_buffer,
    shortfall_warning,
)

MB = 1024 * 1024
RMEM_MAX = Path("/proc/sys/net/core/rmem_max")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="rmem_max is Linux's")


def rmem_max() -> int:
    return int(RMEM_MAX.read_text())


def test_linux_reports_double_what_it_grants() -> None:
    assert from_reported(16 * MB, 32 * MB, linux=True).granted == 16 * MB
    assert from_reported(16 * MB, 16 * MB, linux=False).granted == 16 * MB


def test_a_full_grant_needs_no_warning() -> None:
    assert shortfall_warning(from_reported(16 * MB, 32 * MB, linux=True), linux=True) is None
    assert shortfall_warning(from_reported(16 * MB, 16 * MB, linux=False), linux=False) is None


def test_a_capped_grant_is_read_as_half_of_what_linux_reports() -> None:
    # 6 MB asked, rmem_max 4 MB: Linux reports 8 MB, which is more than asked, but grants 4 MB
    buffer = from_reported(6 * MB, 8 * MB, linux=True)
    assert buffer.short and buffer.granted == 4 * MB
    warning = shortfall_warning(buffer, linux=True)
    assert warning is not None
    assert f"{4 * MB} bytes" in warning and f"{6 * MB} bytes" in warning
    assert f"sysctl -w net.core.rmem_max={6 * MB}" in warning


def test_elsewhere_the_warning_does_not_suggest_a_linux_sysctl() -> None:
    warning = shortfall_warning(from_reported(16 * MB, 8 * MB, linux=False), linux=False)
    assert warning is not None and "sysctl" not in warning and f"{8 * MB} bytes" in warning


def test_more_than_linux_grants_at_all_says_so_instead_of_a_sysctl() -> None:
    buffer = from_reported(2048 * MB, 2 * LINUX_MAX_BYTES, linux=True)
    warning = shortfall_warning(buffer, linux=True)
    assert warning is not None and "sysctl" not in warning and f"at most {LINUX_MAX_BYTES} bytes" in warning


@linux_only
def test_a_real_socket_without_force_is_capped_at_rmem_max() -> None:
    cap = rmem_max()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        buffer = set_receive_buffer(sock, 2 * cap, force=False)
    assert buffer.granted == cap and buffer.reported == 2 * cap
    warning = shortfall_warning(buffer)
    assert warning is not None and f"sysctl -w net.core.rmem_max={2 * cap}" in warning


@linux_only
def test_a_real_socket_asking_beyond_rmem_max_gets_it_when_it_may_force() -> None:
    cap = rmem_max()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        buffer = set_receive_buffer(sock, 2 * cap)
    if os.geteuid() == 0:  # SO_RCVBUFFORCE is allowed
        assert buffer.granted == 2 * cap and not buffer.short
    else:
        assert buffer.granted == cap and buffer.short


def _listener(receive_buffer_mb: float) -> UdpListener:
    settings = UdpInputSection(enable=True, host="127.0.0.1", port=0, receive_buffer_mb=receive_buffer_mb)
    return UdpListener("udp test", settings, lambda data, received_ns: None)


@linux_only
async def test_a_listener_reports_the_buffer_granted_and_warns_when_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cap = rmem_max()
    asked_mb = 2 * cap / MB
    listener = _listener(asked_mb)
    with caplog.at_level(logging.INFO, logger="sensebutler.sources.udp.listener"):
        await listener.start()
        await listener.stop()
    assert listener.buffer is not None
    granted = listener.buffer.granted
    assert f"receive buffer {granted / MB:.1f} MB" in caplog.text  # the start line names the grant
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if os.geteuid() == 0:
        assert granted == 2 * cap and not any("receive buffer of" in w for w in warnings)
    else:
        assert granted == cap
        assert any(f"sysctl -w net.core.rmem_max={2 * cap}" in w for w in warnings), warnings


@linux_only
async def test_a_listener_asking_more_than_linux_grants_logs_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = _listener(2048)
    with caplog.at_level(logging.WARNING, logger="sensebutler.sources.udp.listener"):
        await listener.start()
        await listener.stop()
    assert listener.buffer is not None and listener.buffer.short
    (warning,) = [r.getMessage() for r in caplog.records if "receive buffer of" in r.getMessage()]
    assert f"{listener.buffer.granted} bytes" in warning and f"{2048 * MB} bytes" in warning
