"""One HTTP request as a self-contained record, so it can wait in the spool and be replayed as is.

    b"POST https://hooks.example.com/x\n<tls profile>\n<body>"

The first line is the method and the URL (query parameters included), the second the name of the
TLS settings to use (empty = verify against the system's trust store), the rest the body (JSON, or
nothing for GET). URLs cannot contain line breaks (the config refuses them), so the framing is
unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Method = Literal["GET", "POST", "PUT"]
METHODS: tuple[Method, ...] = ("GET", "POST", "PUT")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: Method
    url: str
    body: bytes = b""
    #: the destination's name for the TLS settings of this request ("" = defaults)
    tls: str = ""

    def pack(self) -> bytes:
        if "\n" in self.url or "\r" in self.url or "\n" in self.tls:
            raise ValueError("a URL or TLS profile name cannot contain a line break")
        return f"{self.method} {self.url}\n{self.tls}\n".encode() + self.body

    @classmethod
    def unpack(cls, record: bytes) -> HttpRequest:
        """The request in ``record``; ValueError for anything else."""
        parts = record.split(b"\n", 2)
        if len(parts) != 3:
            raise ValueError("not an HTTP request record")
        method, _, url = parts[0].decode().partition(" ")
        if method not in METHODS or not url.startswith(("http://", "https://")):
            raise ValueError(f"not an HTTP request record (starts {parts[0][:40]!r})")
        return cls(method, url, parts[2], parts[1].decode())


def describe(url: str) -> str:
    """``scheme://host:port/…`` — where a request goes, without the path and query that often
    carry the webhook's secret (Slack, Teams and Signl4 URLs do)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"
