"""Server licence, access type overview, allocations with lastUsed filters and release; service status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sensebutler.simulator import Simulator
from sensebutler.simulator.timefmt import qrs_time
from tests.simulator.helpers import client, qrs, qrs_json


async def test_server_license_has_valid_to_line(simulator: Simulator) -> None:
    async with client(simulator) as http:
        lic = await qrs_json(http, simulator, "/qrs/license")
    assert lic["schemaPath"] == "License" and lic["isExpired"] is False
    valid_to = [line for line in lic["keyDetails"].split("\n") if "Valid To:" in line]
    assert len(valid_to) == 1
    assert re.fullmatch(r"Valid To: \d{4}-\d{2}-\d{2}", valid_to[0])
    assert valid_to[0].split(":", 1)[1].strip() == simulator.model.license.valid_to.isoformat()  # type: ignore[union-attr]


async def test_overview_has_all_five_access_types(simulator: Simulator) -> None:
    async with client(simulator) as http:
        overview = await qrs_json(http, simulator, "/qrs/license/accesstypeoverview")
    for key in ("userAccess", "loginAccess", "professionalAccess", "analyzerAccess", "analyzerTimeAccess"):
        assert isinstance(overview[key]["enabled"], bool)
    professional = overview["professionalAccess"]
    assert (professional["total"], professional["allocated"], professional["quarantined"]) == (50, 42, 2)
    assert professional["available"] == 50 - 42 - 2 and professional["used"] == 40
    assert overview["analyzerAccess"]["allocated"] == 140


async def test_last_used_filter_and_release(simulator: Simulator) -> None:
    cutoff = qrs_time(datetime.now(UTC) - timedelta(days=30))
    async with client(simulator) as http:
        stale = await qrs_json(
            http, simulator, "/qrs/license/professionalaccesstype/full", filter=f"lastUsed le '{cutoff}'"
        )
        assert len(stale) == 8 + 2  # unused for months + never used
        assert all(item["lastUsed"] <= cutoff for item in stale)
        assert all(item["user"]["userId"] for item in stale)
        before = (await qrs_json(http, simulator, "/qrs/license/accesstypeoverview"))["professionalAccess"]
        victim = next(item for item in stale if not item["quarantined"])
        deleted = await qrs(http, simulator, "DELETE", f"/qrs/license/professionalaccesstype/{victim['id']}")
        assert deleted.status_code == 204
        after = (await qrs_json(http, simulator, "/qrs/license/accesstypeoverview"))["professionalAccess"]
        assert after["allocated"] == before["allocated"] - 1
        assert after["available"] == before["available"] + 1
        gone = await qrs(http, simulator, "GET", f"/qrs/license/professionalaccesstype/{victim['id']}")
        assert gone.status_code == 404
        again = await qrs(http, simulator, "DELETE", f"/qrs/license/professionalaccesstype/{victim['id']}")
        assert again.status_code == 404
        wrong_kind = await qrs(
            http, simulator, "DELETE", f"/qrs/license/analyzeraccesstype/{stale[-1]['id']}"
        )
        assert wrong_kind.status_code == 404


async def test_releasing_a_recently_used_allocation_quarantines_it(simulator: Simulator) -> None:
    cutoff = qrs_time(datetime.now(UTC) - timedelta(days=2))
    async with client(simulator) as http:
        recent = await qrs_json(
            http,
            simulator,
            "/qrs/license/analyzeraccesstype/full",
            filter=f"lastUsed ge '{cutoff}' and quarantined eq false",
        )
        assert recent
        before = (await qrs_json(http, simulator, "/qrs/license/accesstypeoverview"))["analyzerAccess"]
        target = recent[0]["id"]
        assert (
            await qrs(http, simulator, "DELETE", f"/qrs/license/analyzeraccesstype/{target}")
        ).status_code == 204
        kept = await qrs_json(http, simulator, f"/qrs/license/analyzeraccesstype/{target}")
        after = (await qrs_json(http, simulator, "/qrs/license/accesstypeoverview"))["analyzerAccess"]
    assert kept["quarantined"] is True and kept["quarantineEnd"] > qrs_time(datetime.now(UTC))
    assert kept["modifiedByUserName"] == "INTERNAL\\sa_api"
    assert after["allocated"] == before["allocated"] - 1
    assert after["quarantined"] == before["quarantined"] + 1
    assert after["available"] == before["available"]


async def test_service_status(simulator: Simulator) -> None:
    async with client(simulator) as http:
        rows = await qrs_json(http, simulator, "/qrs/servicestatus/full")
        engines = await qrs_json(http, simulator, "/qrs/servicestatus/full", filter="serviceType eq Engine")
        nodes = await qrs_json(http, simulator, "/qrs/servernodeconfiguration/full")
    hosts = {row["serverNodeConfiguration"]["hostName"] for row in rows}
    assert hosts == {node.host_name for node in simulator.model.nodes}
    assert {row["serviceState"] for row in rows} == {2}
    assert len(engines) == 3 and {row["serviceType"] for row in engines} == {3}
    assert sum(node["isCentral"] for node in nodes) == 1
