"""QRS licence endpoints: the server licence, the access type overview, and professional / analyzer
allocations that can be listed (``lastUsed`` filters) and released with DELETE.

Releasing an allocation that was used during the last seven days puts it in quarantine (it stays
listed with ``quarantined: true`` until ``quarantineEnd``), as Sense does; an older or already
quarantined one is removed.
Either way it stops counting as allocated, so the access type overview changes at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from sensebutler.simulator import qrs_schema, shapes
from sensebutler.simulator.model import Allocation, Site
from sensebutler.simulator.qrs_api import Collection, QrsApi
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.web import Handler, empty_response, json_response

QUARANTINE = timedelta(days=7)
KINDS = {"professionalaccesstype": "professional", "analyzeraccesstype": "analyzer"}


def release(site: Site, allocation: Allocation, by: str) -> None:
    now = utcnow()
    if not allocation.quarantined and now - allocation.last_used < QUARANTINE:
        allocation.quarantined = True
        allocation.quarantine_end = now + QUARANTINE
        allocation.touch(by, now)
    else:
        del site.allocations[allocation.id]


def license_collections(site: Site) -> dict[str, Collection]:
    def of_kind(kind: str) -> Callable[[], list[Allocation]]:
        return lambda: [item for item in site.allocations.values() if item.kind == kind]

    def lookup(kind: str) -> Callable[[str], Allocation | None]:
        def find(allocation_id: str) -> Allocation | None:
            found = site.allocations.get(allocation_id)
            return found if found is not None and found.kind == kind else None

        return find

    return {
        f"license/{path}": Collection(
            items=of_kind(kind), full=shapes.allocation, schema=qrs_schema.ALLOCATION, lookup=lookup(kind)
        )
        for path, kind in KINDS.items()
    }


class LicenseRoutes:
    def __init__(self, qrs: QrsApi) -> None:
        self.site = qrs.site
        qrs.router.add("GET", "/qrs/license", self.license)
        qrs.router.add("GET", "/qrs/license/accesstypeoverview", self.overview)
        for path in KINDS:
            qrs.router.add("DELETE", f"/qrs/license/{path}/{{id}}", self._delete_handler(KINDS[path]))

    async def license(self, request: Request, params: dict[str, str]) -> Response:
        if self.site.license is None:
            return empty_response(404)
        return json_response(shapes.license_body(self.site.license))

    async def overview(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(shapes.access_type_overview(self.site))

    def _delete_handler(self, kind: str) -> Handler:
        async def delete(request: Request, params: dict[str, str]) -> Response:
            allocation = self.site.allocations.get(params["id"].lower())
            if allocation is None or allocation.kind != kind:
                return empty_response(404)
            release(self.site, allocation, request.state.qlik_user)
            return empty_response(204)

        return delete
