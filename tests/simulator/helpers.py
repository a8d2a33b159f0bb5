"""Small helpers for talking to the simulator in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from sensebutler.simulator import Simulator

XRFKEY = "abcdefghij987654"
COMPAT = Path(__file__).resolve().parents[2] / "../shared/compat"


def client(sim: Simulator, **kwargs: Any) -> httpx.AsyncClient:
    """An HTTPS client holding the exported client certificate."""
    return httpx.AsyncClient(verify=sim.info.client_ssl_context(), timeout=10.0, **kwargs)


def xrf(params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"xrfkey": XRFKEY, **(params or {})}


XRF_HEADERS = {"X-Qlik-Xrfkey": XRFKEY}


async def qrs(
    http: httpx.AsyncClient, sim: Simulator, method: str, path: str, **params: Any
) -> httpx.Response:
    return await http.request(method, sim.info.qrs_url + path, params=xrf(params), headers=XRF_HEADERS)


async def qrs_json(http: httpx.AsyncClient, sim: Simulator, path: str, **params: Any) -> Any:
    response = await qrs(http, sim, "GET", path, **params)
    assert response.status_code == 200, response.text
    return response.json()
