"""X-Qlik-User without admin rights sees what QRS security rules leave it: empty lists and 403s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sensebutler.config import Config
from sensebutler.config.qlik import QlikConfig
from sensebutler.qlik.http import QlikHttp
from sensebutler.qlik.qrs import QrsClient
from sensebutler.qlik.tls import build_ssl_context
from sensebutler.simulator import Simulator
from sensebutler.simulator.monitoring_config import monitoring_config
from sensebutler.simulator.qrs_api import has_admin_rights
from sensebutler.simulator.web import parse_qlik_user
from tests.simulator.helpers import XRF_HEADERS, client, xrf

ADMINS = [
    None,  # the certificate alone: full rights
    "UserDirectory=INTERNAL; UserId=sa_repository",
    "UserDirectory=Internal;UserId=sa_scheduler",
    "UserDirectory=INTERNAL; UserId=sa_anything",
    "UserDirectory=LAB; UserId=goran",  # RootAdmin in the scenario
]
PLAIN = [
    "UserDirectory=LAB; UserId=anna",  # ContentAdmin: not RootAdmin
    "UserDirectory=LAB; UserId=joe",
    "UserDirectory=LAB; UserId=svc_etl",  # a service account that is a plain user
    "UserDirectory=LAB; UserId=nobody",  # not a user of the site
    "UserDirectory=INTERNAL; UserId=repository",  # INTERNAL, but not an sa_ account
]


async def call(
    http: httpx.AsyncClient, sim: Simulator, method: str, path: str, user: str | None
) -> httpx.Response:
    headers = dict(XRF_HEADERS) if user is None else {**XRF_HEADERS, "X-Qlik-User": user}
    return await http.request(method, sim.info.qrs_url + path, params=xrf(), headers=headers)


@pytest.mark.parametrize("user", ADMINS)
async def test_admins_see_everything(simulator: Simulator, user: str | None) -> None:
    async with client(simulator) as http:
        apps = await call(http, simulator, "GET", "/qrs/app", user)
        lic = await call(http, simulator, "GET", "/qrs/license", user)
    assert apps.status_code == lic.status_code == 200
    assert len(apps.json()) == len(simulator.model.apps)


@pytest.mark.parametrize("user", PLAIN)
async def test_a_user_without_admin_rights_gets_empty_lists_and_403(simulator: Simulator, user: str) -> None:
    sim = simulator
    task = sim.model.task("Reload of Sales dashboard")
    app = next(iter(sim.model.apps.values()))
    allocation = next(iter(sim.model.allocations.values()))
    kind = "professionalaccesstype" if allocation.kind == "professional" else "analyzeraccesstype"
    results: dict[str, Any] = {}
    async with client(sim) as http:
        for path in (
            "/qrs/app",
            "/qrs/app/full",
            "/qrs/task/full",
            "/qrs/user/full",
            "/qrs/servicestatus/full",
        ):
            response = await call(http, sim, "GET", path, user)
            assert response.status_code == 200 and response.json() == [], path
        count = await call(http, sim, "GET", "/qrs/task/count", user)
        assert count.json() == {"value": 0}
        for method, path in (
            ("GET", f"/qrs/app/{app.id}"),
            ("GET", f"/qrs/reloadtask/{task.id}"),
            ("GET", "/qrs/license"),
            ("GET", "/qrs/license/accesstypeoverview"),
            ("POST", f"/qrs/task/{task.id}/start"),
            ("POST", f"/qrs/task/{task.id}/start/synchronous"),
            ("POST", "/qrs/task/start/many"),
            ("DELETE", f"/qrs/license/{kind}/{allocation.id}"),
            ("GET", f"/qrs/reloadtask/{task.id}/scriptlogfile?executionResultId={task.id}"),
        ):
            results[f"{method} {path}"] = (await call(http, sim, method, path, user)).status_code
        about = await call(http, sim, "GET", "/qrs/about", user)
        bad_filter = await http.get(
            sim.info.qrs_url + "/qrs/app",
            params=xrf({"filter": "nmae eq 'x'"}),
            headers={**XRF_HEADERS, "X-Qlik-User": user},
        )
    assert set(results.values()) == {403}, results
    assert about.status_code == 200
    assert bad_filter.status_code == 400  # a broken filter is still a 400, whoever asks
    assert task.session is None and allocation.id in sim.model.allocations


async def test_a_misconfigured_service_user_is_caught(simulator: Simulator, tmp_path: Path) -> None:
    """sensebutler's QRS client with a plain user as X-Qlik-User finds no apps at all."""
    info = simulator.info
    data = monitoring_config(info, state_dir=tmp_path)
    good = Config.model_validate(data).qlik
    wrong = good.model_copy(update={"user_header": "UserDirectory=LAB; UserId=svc_etl"})
    http = QlikHttp(build_ssl_context(good.certificates))
    try:
        assert len(await QrsClient(http, good).apps()) == len(simulator.model.apps)
        assert await QrsClient(http, wrong).apps() == []
    finally:
        await http.aclose()


def test_sensebutlers_own_identity_is_an_admin(simulator: Simulator, tmp_path: Path) -> None:
    generated = Config.model_validate(monitoring_config(simulator.info, state_dir=tmp_path)).qlik.user_header
    for header in (QlikConfig().user_header, generated):
        assert has_admin_rights(simulator.model, parse_qlik_user(header)), header
