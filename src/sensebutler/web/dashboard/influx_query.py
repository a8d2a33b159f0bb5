"""InfluxQL over HTTP ``/query`` for the dashboard, with the InfluxDB sink's settings.

* v1: ``db`` = ``v1.database``, ``rp`` = the retention policy the sink writes to, basic
  authentication when a user name is set;
* v2: the v1-compatible ``/query`` with ``db`` = ``v2.bucket`` and ``Authorization: Token``; it
  needs a DBRP mapping from that name to the bucket (``influx v1 dbrp create``);
* v3: ``/query`` with ``db`` = ``v3.database``, ``Authorization: Bearer`` when a token is set.

Blocking (``httpx.Client``): it runs on the dashboard's reader thread. Every failure becomes a
:class:`~.reader.ReadError` with a category, translated here and nowhere else.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from sensebutler.sinks.influxdb.config import InfluxDbSection
from sensebutler.sinks.influxdb.destination import display_url, error_text, write_request
from sensebutler.web.dashboard.reader import ReadError

_QUERY_SHOWN = 300


@dataclass(frozen=True)
class ResultSeries:
    """One series of an InfluxQL answer; times in nanoseconds."""

    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]


def query_params(section: InfluxDbSection) -> dict[str, str]:
    """Which database (and v1 retention policy) the sink's data is read from."""
    if section.version == 2:
        return {"db": section.v2.bucket}
    if section.version == 3:
        return {"db": section.v3.database}
    params = {"db": section.v1.database}
    if section.v1.retention_policy.name:
        params["rp"] = section.v1.retention_policy.name
    return params


class InfluxQuery:
    def __init__(self, section: InfluxDbSection, ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = display_url(section.url)
        self.params = query_params(section)
        credentials = write_request(section)  # the sink's own: the same user reads
        self._client = httpx.Client(
            base_url=section.url,
            timeout=section.timeout_s,
            verify=ssl_context if ssl_context is not None else True,
            auth=credentials.auth,
            headers=credentials.headers,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def series(self, statement: str) -> list[ResultSeries]:
        """The series of one statement's answer (none when nothing matched)."""
        params = {**self.params, "q": statement, "epoch": "ns"}
        shown = statement[:_QUERY_SHOWN]
        try:
            response = self._client.get("/query", params=params)
        except httpx.TimeoutException as exc:
            raise ReadError(f"InfluxDB at {self.url} did not answer in time", "timeout") from exc
        except httpx.HTTPError as exc:
            message = f"InfluxDB at {self.url} unreachable: {type(exc).__name__}"
            raise ReadError(message, "unreachable") from exc
        status = response.status_code
        if status in (401, 403):
            raise ReadError(f"InfluxDB at {self.url} refused the query: {error_text(response)}", "refused")
        if status >= 500 or status == 429:
            message = f"InfluxDB at {self.url} answered {status}: {error_text(response)}"
            raise ReadError(message, "server_error")
        if status != 200:
            raise ReadError(f"InfluxDB refused {shown!r}: {status} {error_text(response)}", "rejected")
        try:
            payload = orjson.loads(response.content)
            results = payload["results"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ReadError(f"InfluxDB at {self.url} gave an unexpected answer", "bad_answer") from exc
        found = []
        for result in results:
            if "error" in result:
                raise ReadError(f"InfluxDB refused {shown!r}: {result['error']}", "rejected")
            for item in result.get("series", []):
                found.append(
                    ResultSeries(
                        item.get("name", ""),
                        item.get("tags") or {},
                        item.get("columns", []),
                        item.get("values") or [],
                    )
                )
        return found


def identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def escape_regex(text: str) -> str:
    """``text`` as literal regular expression syntax (RE2: an escaped non-word character is itself;
    an escaped ``/`` keeps InfluxQL's regex literal open). Control characters are left out."""
    return "".join(
        "\\" + char if char.isascii() and not char.isalnum() else char for char in text if char.isprintable()
    )


def contains(text: str) -> str:
    """An InfluxQL regex matching values that contain ``text`` (case-insensitively, as SQL ``LIKE``)."""
    return "/(?i)" + escape_regex(text) + "/"


def one_of(values: Iterable[str]) -> str:
    """An InfluxQL regex matching exactly one of ``values``."""
    return "/^(" + "|".join(escape_regex(value) for value in values) + ")$/"
