"""Engine healthcheck: ``GET https://<server>:4747/engine/healthcheck`` (no Xrfkey, certificate only)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import AliasChoices, Field, TypeAdapter

from sensebutler.events.polled import HealthSample, ServerRef
from sensebutler.qlik.answers import Answer, ShapeError, parse
from sensebutler.qlik.http import QlikHttp, bad_response, origin

HEALTHCHECK_PATH = "/engine/healthcheck"
_HEADERS = {"Cache-Control": "no-cache", "Accept": "application/json"}


class _Mem(Answer):
    # very old engines spelled it "comitted"
    committed: float = Field(validation_alias=AliasChoices("committed", "comitted"))
    allocated: float
    free: float


class _Cpu(Answer):
    total: float


class _Counts(Answer):
    active: int
    total: int


class _Apps(Answer):
    active_docs: tuple[str, ...]
    loaded_docs: tuple[str, ...]
    in_memory_docs: tuple[str, ...]
    calls: int
    selections: int


class _Cache(Answer):
    hits: int
    lookups: int
    added: int
    replaced: int
    bytes_added: int


class Healthcheck(Answer):
    version: str
    started: str
    mem: _Mem
    cpu: _Cpu
    session: _Counts
    apps: _Apps
    users: _Counts
    cache: _Cache
    saturated: bool


_ADAPTER = TypeAdapter(Healthcheck)


def parse_healthcheck(body: bytes) -> Healthcheck:
    """The healthcheck JSON, checked; :class:`ShapeError` names what is missing or wrong."""
    return parse(_ADAPTER, body)


def health_sample(
    answer: Healthcheck, server: ServerRef, *, time_ns: int, app_names: Mapping[str, str], poll_ms: float
) -> HealthSample:
    return HealthSample(
        time_ns=time_ns,
        server=server,
        version=answer.version,
        started=answer.started,
        mem_committed=answer.mem.committed,
        mem_allocated=answer.mem.allocated,
        mem_free=answer.mem.free,
        cpu_total=answer.cpu.total,
        session_active=answer.session.active,
        session_total=answer.session.total,
        active_docs=answer.apps.active_docs,
        loaded_docs=answer.apps.loaded_docs,
        in_memory_docs=answer.apps.in_memory_docs,
        calls=answer.apps.calls,
        selections=answer.apps.selections,
        users_active=answer.users.active,
        users_total=answer.users.total,
        cache_hits=answer.cache.hits,
        cache_lookups=answer.cache.lookups,
        cache_added=answer.cache.added,
        cache_replaced=answer.cache.replaced,
        cache_bytes_added=answer.cache.bytes_added,
        saturated=answer.saturated,
        app_names=app_names,
        poll_ms=poll_ms,
    )


async def fetch_healthcheck(
    http: QlikHttp, host: str, port: int, *, timeout_s: float, headers: Mapping[str, str] | None = None
) -> Healthcheck:
    base = origin(host, port)
    request_headers = {**_HEADERS, **(headers or {})}
    body = await http.get(base, HEALTHCHECK_PATH, timeout_s=timeout_s, headers=request_headers)
    try:
        return parse_healthcheck(body)
    except ShapeError as exc:
        raise bad_response(base, HEALTHCHECK_PATH, f"not a healthcheck answer: {exc}") from exc
