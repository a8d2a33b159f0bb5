"""What the kernel knows about our UDP socket: datagrams it dropped because the receive buffer
was full, and how full that buffer is.

Linux counts them per socket in the last column of ``/proc/net/udp`` and ``/proc/net/udp6``; we
find our socket by its inode. Elsewhere the number is unknown (``None``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_TABLES = (Path("/proc/net/udp"), Path("/proc/net/udp6"))


def socket_inode(sock: socket.socket) -> int:
    """The socket's inode, 0 where sockets have none (Windows: ``fstat`` refuses a socket handle)."""
    try:
        return os.fstat(sock.fileno()).st_ino
    except OSError:
        return 0


def _row(inode: int) -> list[str] | None:
    wanted = str(inode)
    for table in _TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 13 and cols[9] == wanted:
                return cols
    return None


def kernel_drops(inode: int) -> int | None:
    cols = _row(inode)
    try:
        return int(cols[-1]) if cols else None
    except ValueError:
        return None


def socket_queue(inode: int) -> int | None:
    """Bytes waiting in the socket's receive queue (column ``tx_queue:rx_queue``, hex)."""
    cols = _row(inode)
    try:
        return int(cols[4].split(":")[1], 16) if cols else None
    except (ValueError, IndexError):
        return None
