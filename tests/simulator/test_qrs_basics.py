"""QRS conventions: Xrfkey, X-Qlik-User, app and about shapes, GUIDs and timestamps."""

from __future__ import annotations

import re

import pytest

from sensebutler.simulator import Simulator
from sensebutler.simulator.web import parse_qlik_user
from tests.simulator.helpers import XRF_HEADERS, XRFKEY, client, qrs, qrs_json

XSRF = "XSRF prevention check failed. Possible XSRF discovered."
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
QRS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({}, {}),
        ({"xrfkey": XRFKEY}, {}),
        ({}, XRF_HEADERS),
        ({"xrfkey": "abcdefghij000000"}, XRF_HEADERS),
        ({"xrfkey": "short"}, {"X-Qlik-Xrfkey": "short"}),
    ],
)
async def test_missing_or_mismatched_xrfkey_is_403_with_qlik_text(
    simulator: Simulator, params: dict[str, str], headers: dict[str, str]
) -> None:
    async with client(simulator) as http:
        for url in (simulator.info.qrs_url + "/qrs/app", simulator.info.nodes[0].proxy_url + "/qps/session"):
            response = await http.get(url, params=params, headers=headers)
            assert response.status_code == 403
            assert response.text == XSRF
            assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("name", ["xrfkey", "Xrfkey", "XRFKEY"])
async def test_xrfkey_parameter_name_is_case_insensitive(simulator: Simulator, name: str) -> None:
    async with client(simulator) as http:
        response = await http.get(
            simulator.info.qrs_url + "/qrs/about", params={name: XRFKEY}, headers={"x-qlik-xrfkey": XRFKEY}
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "UserDirectory=Internal;UserId=sa_repository",
        "UserDirectory=INTERNAL; UserId=sa_repository",
        "UserDirectory= Internal; UserId= sa_repository ",
        "userid=sa_repository;userdirectory=internal",
    ],
)
async def test_qlik_user_header_is_parsed_leniently(simulator: Simulator, header: str) -> None:
    assert parse_qlik_user(header).key == "INTERNAL\\sa_repository"
    async with client(simulator) as http:
        response = await http.get(
            simulator.info.qrs_url + "/qrs/app",
            params={"xrfkey": XRFKEY},
            headers={**XRF_HEADERS, "X-Qlik-User": header.strip()},
        )
    assert response.status_code == 200


async def test_unusable_qlik_user_header_is_400(simulator: Simulator) -> None:
    async with client(simulator) as http:
        response = await http.get(
            simulator.info.qrs_url + "/qrs/app",
            params={"xrfkey": XRFKEY},
            headers={**XRF_HEADERS, "X-Qlik-User": "sa_repository"},
        )
    assert response.status_code == 400


async def test_stray_ampersand_is_missing_parameter_value(simulator: Simulator) -> None:
    async with client(simulator) as http:
        response = await http.get(f"{simulator.info.qrs_url}/qrs/app?xrfkey={XRFKEY}&", headers=XRF_HEADERS)
    assert (response.status_code, response.text) == (400, "Missing parameter value(s)")


async def test_app_list_is_condensed_and_full_has_everything(simulator: Simulator) -> None:
    async with client(simulator) as http:
        condensed = await qrs_json(http, simulator, "/qrs/app")
        full = await qrs_json(http, simulator, "/qrs/app/full")
        count = await qrs_json(http, simulator, "/qrs/app/count")
    assert len(condensed) == len(full) == count["value"] == 20
    assert "description" not in condensed[0] and "owner" not in condensed[0] and "tags" not in condensed[0]
    sales = next(app for app in full if app["name"] == "Sales dashboard")
    assert sales["schemaPath"] == "App" and sales["privileges"] is None
    assert sales["owner"]["userId"] == "anna" and sales["stream"]["name"] == "Sales"
    assert {tag["name"] for tag in sales["tags"]} == {"Sales", "Butler"}
    assert sales["customProperties"][0]["definition"]["name"] == "Department"
    for app in full:
        assert GUID.match(app["id"])
        for key in ("createdDate", "modifiedDate", "publishTime", "lastReloadTime"):
            assert QRS_TIME.match(app[key])
    unpublished = next(app for app in full if app["name"] == "Sandbox")
    assert unpublished["published"] is False and unpublished["stream"] is None
    assert unpublished["publishTime"] == "1753-01-01T00:00:00.000Z"


async def test_app_by_id_and_unknown_id(simulator: Simulator) -> None:
    app = next(iter(simulator.model.apps.values()))
    async with client(simulator) as http:
        body = await qrs_json(http, simulator, f"/qrs/app/{app.id}")
        missing = await qrs(http, simulator, "GET", "/qrs/app/00000000-0000-0000-0000-000000000001")
        owner = await qrs_json(http, simulator, f"/qrs/user/{body['owner']['id']}")
    assert body["name"] == app.name
    assert missing.status_code == 404
    assert [a["attributeValue"] for a in owner["attributes"] if a["attributeType"] == "email"] == [
        app.owner.email
    ]


async def test_privileges_on_request(simulator: Simulator) -> None:
    async with client(simulator) as http:
        apps = await qrs_json(http, simulator, "/qrs/app", privileges="true")
    assert all(app["privileges"] for app in apps)


async def test_about_and_systeminfo(simulator: Simulator) -> None:
    async with client(simulator) as http:
        about = await qrs_json(http, simulator, "/qrs/about")
        info = (await http.get(simulator.info.about_url + "/v1/systeminfo")).json()
    assert about["schemaPath"] == "About" and about["nodeType"] == 1
    for key in (
        "buildVersion",
        "buildDate",
        "databaseProvider",
        "sharedPersistence",
        "requiresBootstrap",
        "singleNodeOnly",
    ):
        assert key in about
    assert info["version"] == simulator.scenario.product_version
    for key in (
        "productName",
        "deploymentType",
        "releaseLabel",
        "contentHash",
        "senseId",
        "deprecatedProductVersion",
        "copyrightYearRange",
    ):
        assert isinstance(info[key], str) and info[key]
