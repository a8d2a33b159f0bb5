"""Proxy service (QPS) session list: ``GET https://<server>:4243/qps[/<virtual proxy>]/session``."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, TypeAdapter

from sensebutler.qlik.answers import Answer, ShapeError, parse
from sensebutler.qlik.http import QlikHttp, bad_response, origin


class QpsSession(Answer):
    """One proxy session (QPS answers in PascalCase)."""

    user_directory: str = Field(alias="UserDirectory")
    user_id: str = Field(alias="UserId")
    session_id: str = Field(alias="SessionId")


_ADAPTER = TypeAdapter(list[QpsSession])


def session_path(virtual_proxy: str) -> str:
    """``/qps/session`` for the root virtual proxy ``/``, ``/qps/<prefix>/session`` otherwise."""
    prefix = virtual_proxy.strip("/")
    return f"/qps/{prefix}/session" if prefix else "/qps/session"


def parse_sessions(body: bytes) -> list[QpsSession]:
    return parse(_ADAPTER, body)


async def fetch_sessions(
    http: QlikHttp,
    host: str,
    port: int,
    virtual_proxy: str,
    *,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
) -> list[QpsSession]:
    base = origin(host, port)
    path = session_path(virtual_proxy)
    body = await http.get(base, path, timeout_s=timeout_s, headers=headers, xrf=True)
    try:
        return parse_sessions(body)
    except ShapeError as exc:
        raise bad_response(base, path, f"not a session list: {exc}") from exc
