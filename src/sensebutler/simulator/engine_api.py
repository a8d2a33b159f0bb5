"""The engine's REST healthcheck (port 4747): no Xrfkey, client certificate only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sensebutler.simulator.engine import Engine
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.web import Router, json_response


class EngineApi:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.router = Router()
        for path in ("/engine/healthcheck", "/healthcheck"):
            self.router.add("GET", path, self.healthcheck)

    async def healthcheck(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(self.engine.healthcheck(utcnow()))

    async def handle(self, request: Request) -> Response:
        return await self.router.dispatch(request)
