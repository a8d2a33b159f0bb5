"""The proxy session API: per virtual proxy, per session, per user, PascalCase bodies."""

from __future__ import annotations

from typing import Any

import httpx

from sensebutler.simulator import Simulator
from tests.simulator.helpers import XRF_HEADERS, client, xrf


async def qps(
    http: httpx.AsyncClient, sim: Simulator, node: int, method: str, path: str, **kw: Any
) -> httpx.Response:
    return await http.request(
        method, sim.info.nodes[node].proxy_url + path, params=xrf(), headers=XRF_HEADERS, **kw
    )


async def test_sessions_per_virtual_proxy(simulator: Simulator) -> None:
    default = await simulator.add_session("Central", user="LAB\\anna", apps=1)
    header = await simulator.add_session("Central", user="LAB\\joe", virtual_proxy="hdr", apps=0)
    await simulator.add_session("Rim1", user="LAB\\priya", apps=0)
    async with client(simulator) as http:
        root = (await qps(http, simulator, 0, "GET", "/qps/session")).json()
        hdr = (await qps(http, simulator, 0, "GET", "/qps/hdr/session")).json()
        rim = (await qps(http, simulator, 1, "GET", "/qps/session/")).json()
        unknown = await qps(http, simulator, 0, "GET", "/qps/nosuchproxy/session")
    assert root == [{"UserDirectory": "LAB", "UserId": "anna", "Attributes": [], "SessionId": default.id}]
    assert [(s["UserId"], s["SessionId"]) for s in hdr] == [("joe", header.id)]
    assert hdr[0]["Attributes"] == [{"email": "joe@lab.example.com"}]
    assert [s["UserId"] for s in rim] == ["priya"]
    assert unknown.status_code == 404


async def test_get_and_delete_session(simulator: Simulator) -> None:
    first = await simulator.add_session("Rim2", user="LAB\\anna", apps=2)
    await simulator.add_session("Rim2", user="LAB\\anna", apps=0)
    async with client(simulator) as http:
        got = await qps(http, simulator, 2, "GET", f"/qps/session/{first.id}")
        assert got.json()["SessionId"] == first.id
        deleted = await qps(http, simulator, 2, "DELETE", f"/qps/session/{first.id}")
        assert deleted.status_code == 200
        assert deleted.json() == {"session": got.json(), "lastSessionForUser": False}
        assert (await qps(http, simulator, 2, "GET", f"/qps/session/{first.id}")).status_code == 404
        assert (await qps(http, simulator, 2, "DELETE", f"/qps/session/{first.id}")).status_code == 404
        remaining = (await qps(http, simulator, 2, "GET", "/qps/session")).json()
    assert len(remaining) == 1
    assert simulator.model.nodes[2].engine.connections == {}


async def test_sessions_of_a_user_and_logout(simulator: Simulator) -> None:
    for _ in range(2):
        await simulator.add_session("Central", user="LAB\\joe", apps=1)
    await simulator.add_session("Central", user="LAB\\anna", apps=1)
    async with client(simulator) as http:
        mine = (await qps(http, simulator, 0, "GET", "/qps/user/lab/JOE")).json()
        assert [s["UserId"] for s in mine] == ["joe", "joe"]
        logout = await qps(http, simulator, 0, "DELETE", "/qps/user/LAB/joe")
        assert sorted(s["SessionId"] for s in logout.json()) == sorted(s["SessionId"] for s in mine)
        left = (await qps(http, simulator, 0, "GET", "/qps/session")).json()
    assert [s["UserId"] for s in left] == ["anna"]


async def test_add_session_and_ticket(simulator: Simulator) -> None:
    body = {
        "UserDirectory": "LAB",
        "UserId": "goran",
        "Attributes": [{"Group": "Sales"}],
        "SessionId": "6a1f2e3d-4c5b-4a69-8877-665544332211",
    }
    async with client(simulator) as http:
        added = await qps(http, simulator, 1, "POST", "/qps/session", json=body)
        assert added.status_code == 201 and added.json() == body
        listed = (await qps(http, simulator, 1, "GET", "/qps/session")).json()
        assert listed == [body]
        ticket = await qps(
            http, simulator, 1, "POST", "/qps/ticket", json={"UserDirectory": "LAB", "UserId": "goran"}
        )
        assert ticket.status_code == 201 and ticket.json()["Ticket"]
        bad = await qps(http, simulator, 1, "POST", "/qps/session", content=b"{not json")
        assert bad.status_code == 400
