"""The two ways a state operation fails, typed by what the caller does next.

* :class:`StateUnavailable`: the backend cannot answer now (Redis down or unreachable, the SQLite
  file locked past the busy timeout, disk error, backend closed). Retry later and count it.
* :class:`ValueError` (the built-in): the call itself is wrong (empty key, TTL not positive, value
  not bytes, ``incr`` on a value that is not an integer). Retrying does not help.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Backend = Literal["sqlite", "redis"]


class StateUnavailable(Exception):
    """The state backend cannot answer now; the message names the backend and where it is."""

    def __init__(self, backend: Backend, where: str, detail: str) -> None:
        super().__init__(f"{backend} state at {where} unavailable: {detail}")
        self.backend: Backend = backend
        self.where = where
        self.detail = detail


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    if not password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))
