"""The socket's receive buffer (the UDP ingest queue): ask for the configured size, and say loudly
when the OS grants less.

Linux caps ``SO_RCVBUF`` at ``net.core.rmem_max``; as root, ``SO_RCVBUFFORCE`` goes beyond it (up to
``INT_MAX / 2``). Linux then *reports* twice the size asked for: the other half is its allowance for
bookkeeping, and the queue fill it reports in ``/proc/net/udp`` is measured against that doubled
value. So the size granted is half the size reported on Linux, the size reported elsewhere.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass

LINUX = sys.platform.startswith("linux")
#: Linux's option number (Python 3.11 has no constant for it); only used on Linux
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
#: the largest receive buffer Linux grants at all, even with SO_RCVBUFFORCE
LINUX_MAX_BYTES = (2**31 - 1) // 2


@dataclass(frozen=True, slots=True)
class ReceiveBuffer:
    asked: int
    #: usable bytes the OS granted
    granted: int
    #: what the OS reports (``getsockopt(SO_RCVBUF)``): the limit its queue-fill figure is measured against
    reported: int

    @property
    def short(self) -> bool:
        return self.granted < self.asked


def from_reported(asked: int, reported: int, *, linux: bool = LINUX) -> ReceiveBuffer:
    """What was granted, given what was asked and what the OS reports (Linux reports double)."""
    return ReceiveBuffer(asked=asked, granted=reported // 2 if linux else reported, reported=reported)


def set_receive_buffer(sock: socket.socket, asked: int, *, force: bool = True) -> ReceiveBuffer:
    """Ask for ``asked`` bytes (forced beyond rmem_max on Linux when we may) and return the grant."""
    value = min(asked, LINUX_MAX_BYTES)  # a larger int overflows the option on every OS
    forced = False
    if LINUX and force:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, value)
            forced = True
        except OSError:  # EPERM without CAP_NET_ADMIN: the capped option below
            pass
    if not forced:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, value)
    return from_reported(asked, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))


def shortfall_warning(buffer: ReceiveBuffer, *, linux: bool = LINUX) -> str | None:
    """The warning to log when the OS granted less than asked; None when it granted enough."""
    if not buffer.short:
        return None
    text = (
        f"the OS granted a receive buffer of {buffer.granted} bytes ({_mb(buffer.granted)}) of the "
        f"{buffer.asked} bytes ({_mb(buffer.asked)}) asked for by receive_buffer_mb; bursts that do not "
        "fit are dropped by the kernel (counted as kernel_drops)"
    )
    if linux and buffer.asked > LINUX_MAX_BYTES:
        return f"{text}. Linux grants at most {LINUX_MAX_BYTES} bytes per socket: lower receive_buffer_mb"
    if linux:
        return (
            f"{text}. To allow it, run as root: sysctl -w net.core.rmem_max={buffer.asked} "
            "(and put net.core.rmem_max in /etc/sysctl.d/ to keep it after a reboot), or run sensebutler "
            "with CAP_NET_ADMIN so it can force the size"
        )
    return f"{text}. Raise the operating system's limit on socket buffers, or lower receive_buffer_mb"


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
