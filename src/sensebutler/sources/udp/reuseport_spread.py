"""Spread one port's datagrams evenly over the sockets that share it (Linux, SO_REUSEPORT).

Plain ``SO_REUSEPORT`` picks a socket by a hash of the sender's address and port, so everything one
busy Sense service sends lands on one socket. A classic BPF program attached to the group with
``SO_ATTACH_REUSEPORT_CBPF`` chooses the socket instead; ours returns ``random % N``:

    ld  #rand        ; A = a random 32-bit number (ancillary load SKF_AD_RANDOM)
    mod #N           ; A = A % N
    ret a            ; the index of the socket in the group (in the order they were bound)

While fewer than N sockets are bound, an index past the end makes the kernel fall back to its hash,
so nothing is lost while the workers start or restart. The program belongs to the group: attaching
it again (every worker does) replaces it with the same one.
"""

from __future__ import annotations

import ctypes
import socket
import struct
import sys

#: <asm-generic/socket.h>
SO_ATTACH_REUSEPORT_CBPF = 51
#: <linux/filter.h>: BPF_LD|BPF_W|BPF_ABS, BPF_ALU|BPF_MOD|BPF_K, BPF_RET|BPF_A
_LD_ABS_W, _ALU_MOD_K, _RET_A = 0x20, 0x94, 0x16
#: SKF_AD_OFF + SKF_AD_RANDOM: the ancillary "load a random number" offset
_SKF_AD_RANDOM = (-0x1000 + 56) & 0xFFFFFFFF


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


def random_spread_program(sockets: int) -> list[tuple[int, int, int, int]]:
    """The program's instructions ``(code, jt, jf, k)`` for a group of ``sockets`` sockets."""
    if sockets < 1:
        raise ValueError("a reuseport group has at least one socket")
    return [(_LD_ABS_W, 0, 0, _SKF_AD_RANDOM), (_ALU_MOD_K, 0, 0, sockets), (_RET_A, 0, 0, 0)]


def attach_random_spread(sock: socket.socket, sockets: int) -> None:
    """Attach the program to ``sock``'s reuseport group; raises ``OSError`` where it is not supported."""
    if not sys.platform.startswith("linux"):
        raise OSError("spreading datagrams over workers needs Linux (SO_ATTACH_REUSEPORT_CBPF)")
    program = random_spread_program(sockets)
    filters = (_SockFilter * len(program))(*(_SockFilter(*instruction) for instruction in program))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; } (native alignment)
    fprog = struct.pack("HL", len(program), ctypes.addressof(filters))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)


__all__ = ["SO_ATTACH_REUSEPORT_CBPF", "attach_random_spread", "random_spread_program"]
