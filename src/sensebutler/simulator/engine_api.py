"""The engine's port (4747): the REST healthcheck (no Xrfkey, client certificate only) and the QIX
websocket (:mod:`sensebutler.simulator.qix`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from sensebutler.simulator.engine import Engine
from sensebutler.simulator.qix import QixEngine
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.web import Router, json_response

#: websocket close code (policy violation) for a websocket the engine does not serve
POLICY_VIOLATION = 1008


class EngineApi:
    def __init__(self, engine: Engine, qix: QixEngine | None = None) -> None:
        self.engine = engine
        self.qix = qix
        self.router = Router()
        for path in ("/engine/healthcheck", "/healthcheck"):
            self.router.add("GET", path, self.healthcheck)

    async def healthcheck(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(self.engine.healthcheck(utcnow()))

    async def handle(self, request: Request) -> Response:
        return await self.router.dispatch(request)

    async def websocket(self, websocket: WebSocket) -> None:
        """A QIX session; engines of benchmark-only extra nodes have no apps and refuse it."""
        if self.qix is None:
            await websocket.close(code=POLICY_VIOLATION)
            return
        await self.qix.serve(websocket)
