"""Datagrams the kernel dropped on our socket because its receive buffer was full.

Linux counts them per socket in the last column of ``/proc/net/udp`` and ``/proc/net/udp6``; we
find our socket by its inode. Elsewhere the number is unknown (``None``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_TABLES = (Path("/proc/net/udp"), Path("/proc/net/udp6"))


def socket_inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def kernel_drops(inode: int) -> int | None:
    wanted = str(inode)
    for table in _TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 13 and cols[9] == wanted:
                try:
                    return int(cols[-1])
                except ValueError:
                    return None
    return None
