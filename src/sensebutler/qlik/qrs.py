"""Repository service (QRS): ``https://<host>:4242/qrs/...`` with Xrfkey and ``X-Qlik-User``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter

from sensebutler.config.qlik import QlikConfig
from sensebutler.qlik.answers import Answer, ShapeError, parse
from sensebutler.qlik.http import QlikHttp, bad_response, origin

T = TypeVar("T")


class QrsApp(Answer):
    """An entry of ``GET /qrs/app`` (the condensed app list)."""

    id: str
    name: str
    description: str = ""


_APPS = TypeAdapter(list[QrsApp])
_ANY: TypeAdapter[Any] = TypeAdapter(Any)


class QrsClient:
    def __init__(self, http: QlikHttp, config: QlikConfig) -> None:
        self.http = http
        self.base = origin(config.qrs.host, config.qrs.port)
        self.timeout_s = config.qrs.timeout_s
        self.headers = {"X-Qlik-User": config.user_header}

    async def get(self, path: str, adapter: TypeAdapter[T], params: Mapping[str, str] | None = None) -> T:
        """``GET /qrs/<path>`` checked against ``adapter``; a mismatch is a ``bad_response`` error."""
        full_path = "/qrs/" + path.lstrip("/")
        body = await self.http.get(
            self.base, full_path, timeout_s=self.timeout_s, headers=self.headers, params=params, xrf=True
        )
        try:
            return parse(adapter, body)
        except ShapeError as exc:
            raise bad_response(self.base, full_path, str(exc)) from exc

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """``GET /qrs/<path>`` as plain JSON, for callers that check the shape themselves."""
        return await self.get(path, _ANY, params)

    async def apps(self) -> list[QrsApp]:
        return await self.get("app", _APPS)

    async def start_task(self, task_id: str) -> None:
        """``POST /qrs/task/{id}/start``: QRS queues the task and answers at once (204).

        Raises :class:`~sensebutler.qlik.errors.QlikError`: ``http_4xx`` with status 404 for an
        unknown task, 409 when it is already running.
        """
        path = f"/qrs/task/{quote(task_id, safe='')}/start"
        await self.http.request(
            "POST", self.base, path, timeout_s=self.timeout_s, headers=self.headers, xrf=True, body=b""
        )
