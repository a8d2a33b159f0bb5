"""One MQTT message as a self-contained record, so it can wait in the disk spool.

version (1 byte) · qos (1 byte) · retain (1 byte) · topic length (2 bytes, big endian)
· topic (UTF-8) · payload (the rest)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct("!BBBH")
_VERSION = 1
_MAX_TOPIC_BYTES = 65535


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


def topic_level(text: str) -> str:
    """``text`` made safe as one topic level: no separators, wildcards or NUL characters."""
    return text.translate(_LEVEL_UNSAFE)


_LEVEL_UNSAFE = str.maketrans({"/": "_", "+": "_", "#": "_", "\x00": ""})


def pack(message: Message) -> bytes:
    topic = message.topic.encode()
    if not topic or len(topic) > _MAX_TOPIC_BYTES or b"+" in topic or b"#" in topic or b"\x00" in topic:
        raise ValueError(f"not a valid topic to publish to: {message.topic[:200]!r}")
    if message.qos not in (0, 1, 2):
        raise ValueError(f"qos must be 0, 1 or 2, not {message.qos}")
    return _HEADER.pack(_VERSION, message.qos, int(message.retain), len(topic)) + topic + message.payload


def unpack(record: bytes) -> Message:
    if len(record) < _HEADER.size:
        raise ValueError("MQTT record too short")
    version, qos, retain, topic_length = _HEADER.unpack_from(record)
    if version != _VERSION or qos > 2 or retain > 1 or len(record) < _HEADER.size + topic_length:
        raise ValueError("not an MQTT record of this version")
    topic_end = _HEADER.size + topic_length
    return Message(record[_HEADER.size : topic_end].decode(), record[topic_end:], qos, bool(retain))
