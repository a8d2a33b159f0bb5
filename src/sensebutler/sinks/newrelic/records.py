"""One New Relic item as a self-contained record: which API, which account, and the item's JSON.

    b"metric\n<account name>\n{...}"   or   b"event\n..."   or   b"log\n..."

Account names cannot contain line breaks (the config refuses them), so the framing is unambiguous.
"""

from __future__ import annotations

from typing import cast

import orjson

from sensebutler.sinks.newrelic.payloads import Api, Item

APIS: tuple[Api, ...] = ("metric", "event", "log")


def pack(api: Api, account: str, item: Item) -> bytes:
    return f"{api}\n{account}\n".encode() + orjson.dumps(item)


def unpack(record: bytes) -> tuple[Api, str, bytes]:
    """``(api, account, item JSON)``; ValueError for anything else."""
    parts = record.split(b"\n", 2)
    if len(parts) != 3 or parts[0].decode(errors="replace") not in APIS or not parts[2].startswith(b"{"):
        raise ValueError("not a New Relic record")
    return cast(Api, parts[0].decode()), parts[1].decode(), parts[2]
