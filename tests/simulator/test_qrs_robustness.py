"""Whatever a client sends, QRS answers with a Qlik status (200/204/400/403/404/405/409), never 500."""

from __future__ import annotations

import asyncio
import random
from functools import cache
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from sensebutler.simulator.model import build_site
from sensebutler.simulator.qrs_api import QrsApi
from sensebutler.simulator.qrs_tasks import ScriptLogTickets
from sensebutler.simulator.runs import TaskRunner
from sensebutler.simulator.scenario import load_scenario
from sensebutler.simulator.simulator import build_qrs
from sensebutler.simulator.udp import SiteLogs, UdpEmitter, UdpTargets
from tests.simulator.helpers import XRFKEY

EXPECTED = {200, 400, 403, 404, 405}
SEGMENTS = [
    "qrs",
    "app",
    "task",
    "full",
    "count",
    "reloadtask",
    "scriptlog",
    "scriptlogfile",
    "download",
    "license",
    "professionalaccesstype",
    "user",
    "executionresult",
    "servicestatus",
    "tag",
    "about",
]


@cache
def api() -> QrsApi:
    site = build_site(load_scenario(None), seed=5)
    logs = SiteLogs(UdpEmitter(UdpTargets()), "LAB\\qlikservice")
    return build_qrs(site, TaskRunner(site, logs, random.Random(1)), ScriptLogTickets(0.1))


def call(method: str, path: str, query: str, headers: dict[str, str]) -> int:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("latin-1", "replace"),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()],
        "server": ("127.0.0.1", 4242),
        "client": ("127.0.0.1", 50000),
        "scheme": "https",
        "root_path": "",
    }
    response = asyncio.run(api().handle(Request(scope)))
    return response.status_code


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_any_filter_is_answered_200_or_400(text: str) -> None:
    query = f"xrfkey={XRFKEY}&filter={quote(text, safe='')}"
    status = call("GET", "/qrs/task/full", query, {"X-Qlik-Xrfkey": XRFKEY})
    assert status == 200 or (status == 400 and text.strip() != "")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(SEGMENTS), st.text(min_size=1, max_size=12)), max_size=5),
    st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
)
def test_any_path_gets_a_qlik_status(segments: list[str], method: str) -> None:
    path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    status = call(method, path, f"xrfkey={XRFKEY}", {"X-Qlik-Xrfkey": XRFKEY})
    assert status in EXPECTED | {201, 204, 409}


@settings(max_examples=100, deadline=None)
@given(header_text, header_text)
def test_any_user_or_xrfkey_header(user: str, key: str) -> None:
    status = call(
        "GET", "/qrs/about", f"xrfkey={quote(key, safe='')}", {"X-Qlik-Xrfkey": key, "X-Qlik-User": user}
    )
    assert status in {200, 400, 403}
