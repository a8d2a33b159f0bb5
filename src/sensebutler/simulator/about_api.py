"""The About service (port 9032): ``/v1/systeminfo``, client certificate only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sensebutler.simulator.model import Site
from sensebutler.simulator.shapes import system_info
from sensebutler.simulator.web import Router, json_response


class AboutApi:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.router = Router()
        for path in ("/v1/systeminfo", "/api/about/v1/systeminfo"):
            self.router.add("GET", path, self.systeminfo)

    async def systeminfo(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(system_info(self.site))

    async def handle(self, request: Request) -> Response:
        return await self.router.dispatch(request)
