"""The QIX client against the simulator's engine websocket, over real mutual-TLS sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensebutler.config.qlik import Certificates
from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.qix import GLOBAL_HANDLE, QixClient
from sensebutler.qlik.tls import build_ssl_context
from sensebutler.simulator import Simulator
from sensebutler.simulator.model import App
from sensebutler.simulator.qix import content_of
from sensebutler.simulator.timefmt import parse_qrs_time
from tests.simulator.helpers import client, qrs_json

SERVICE_USER = "UserDirectory=INTERNAL; UserId=sa_api"
BUTLER_DUMP_KEYS = {
    "properties",
    "loadScript",
    "lineage",
    "sheets",
    "stories",
    "masterobjects",
    "appprops",
    "dimensions",
    "measures",
    "bookmarks",
    "embeddedmedia",
    "snapshots",
    "fields",
    "dataconnections",
    "variables",
    "appId",
}


def _certificates(simulator: Simulator, **changes: object) -> Certificates:
    paths = simulator.info.certificates
    files = {"client_cert": str(paths.client), "client_key": str(paths.client_key), "ca": str(paths.root)}
    return Certificates.model_validate({**files, **changes})


def _client(simulator: Simulator, user: str = SERVICE_USER, **changes: object) -> QixClient:
    timeout_s = changes.pop("timeout_s", 60.0)
    assert isinstance(timeout_s, float)
    node = simulator.info.nodes[0]
    return QixClient(
        build_ssl_context(_certificates(simulator, **changes)),
        "localhost",
        node.engine_port,
        user_header=user,
        timeout_s=timeout_s,
    )


@pytest.fixture
async def sim(simulator: Simulator) -> Simulator:
    simulator.app_reloads.duration = 0.05
    return simulator


def _app(sim: Simulator, index: int = 0) -> App:
    return list(sim.model.apps.values())[index]


async def test_list_apps_returns_the_scenario_apps(sim: Simulator) -> None:
    apps = await _client(sim).list_apps()
    assert {(a.id, a.name) for a in apps} == {(a.id, a.name) for a in sim.model.apps.values()}
    assert all(entry.last_reload_time.endswith("Z") for entry in apps)


async def test_a_user_sees_published_and_own_apps_only(sim: Simulator) -> None:
    user = next(u for u in sim.model.users.values() if u.directory != "INTERNAL" and not u.roles)
    expected = {a.id for a in sim.model.apps.values() if a.published or a.owner is user}
    assert expected != set(sim.model.apps)  # the scenario has unpublished apps of others
    apps = await _client(sim, f"UserDirectory={user.directory}; UserId={user.user_id}").list_apps()
    assert {a.id for a in apps} == expected


async def test_engine_version(sim: Simulator) -> None:
    assert await _client(sim).engine_version() == sim.model.nodes[0].engine.version


async def test_reload_moves_last_reload_time_and_writes_a_script_log(sim: Simulator) -> None:
    app = _app(sim)
    async with client(sim) as http:
        before = parse_qrs_time((await qrs_json(http, sim, f"/qrs/app/{app.id}"))["lastReloadTime"])
        result = await _client(sim).reload_app(app.id)
        after = parse_qrs_time((await qrs_json(http, sim, f"/qrs/app/{app.id}"))["lastReloadTime"])
    assert result.success and result.saved
    assert after > before
    assert result.script_log_file is not None
    name = result.script_log_file.rsplit("\\", 1)[1]
    assert name.startswith(app.id + ".") and name.endswith(".log")
    node = sim.model.nodes[0]
    log_file = sim.app_reloads.script_log_path(node, name)
    text = log_file.read_bytes().decode("utf-8")
    assert "Execution started." in text and text.rstrip().endswith("Execution finished.")
    assert "Reload Executed By            UserDirectory=INTERNAL; UserId=sa_api" in text
    assert sim.model.app_reloads[-1].script_log == text
    assert sim.model.app_reloads[-1].success


async def test_partial_reload_is_said_in_the_script_log(sim: Simulator) -> None:
    app = _app(sim, 1)
    result = await _client(sim).reload_app(app.id, partial=True, mode=1)
    assert result.success
    reload = sim.model.app_reloads[-1]
    assert reload.partial and reload.mode == 1
    assert "(partial reload)" in reload.script_log


async def test_failing_reload_is_a_result_not_an_error(sim: Simulator) -> None:
    app = _app(sim, 2)
    before = app.last_reload_time
    sim.set_app_reload_failing(app.name)
    result = await _client(sim).reload_app(app.id)
    assert not result.success and not result.saved
    assert app.last_reload_time == before
    assert "Execution Failed" in sim.model.app_reloads[-1].script_log
    sim.set_app_reload_failing(app.id, False)
    assert (await _client(sim).reload_app(app.id)).success


async def test_dump_returns_the_apps_objects(sim: Simulator) -> None:
    app = _app(sim, 3)
    dump = await _client(sim).dump_app(app.id)
    content = content_of(sim.model, app)

    def ids(kind: str) -> set[str]:
        return {obj.id for obj in content.objects.values() if obj.type == kind}

    assert dump.properties["qTitle"] == app.name
    assert dump.load_script == content.script
    assert {tree["qProperty"]["qInfo"]["qId"] for tree in dump.sheets} == ids("sheet")
    sheet = content.objects[next(iter(ids("sheet")))]
    tree = next(t for t in dump.sheets if t["qProperty"]["qInfo"]["qId"] == sheet.id)
    assert [child["qProperty"]["qInfo"]["qId"] for child in tree["qChildren"]] == sheet.children
    assert {tree["qProperty"]["qInfo"]["qId"] for tree in dump.masterobjects} == ids("masterobject")
    assert {tree["qProperty"]["qInfo"]["qId"] for tree in dump.stories} == ids("story")
    assert [tree["qProperty"]["qInfo"]["qType"] for tree in dump.appprops] == ["appprops"]
    assert {d["qInfo"]["qId"] for d in dump.dimensions} == ids("dimension")
    assert {m["qInfo"]["qId"] for m in dump.measures} == ids("measure")
    assert {v["qInfo"]["qId"] for v in dump.variables} == ids("variable")
    assert [v.get("qIsScriptCreated", False) for v in dump.variables].count(True) == 1
    assert {b["qInfo"]["qId"] for b in dump.bookmarks} == ids("bookmark")
    assert all(b["qData"]["qBookMark"]["qStateData"] for b in dump.bookmarks)
    assert {f["qName"] for f in dump.fields} == {c for cols in content.tables.values() for c in cols}
    assert [c["qName"] for c in dump.dataconnections] == ["DataFiles"]
    assert len(dump.lineage) == len(content.tables)
    as_json = dump.as_json()
    assert set(as_json) == BUTLER_DUMP_KEYS
    assert as_json["appId"] == app.id


async def test_dump_is_the_same_for_the_same_app(sim: Simulator) -> None:
    app = _app(sim, 4)
    first = (await _client(sim).dump_app(app.id)).as_json()
    second = (await _client(sim).dump_app(app.id)).as_json()
    assert first == second


async def test_unknown_app_is_not_found(sim: Simulator) -> None:
    missing = "11111111-2222-4333-8444-555555555555"
    for attempt in (_client(sim).dump_app(missing), _client(sim).reload_app(missing)):
        with pytest.raises(QlikError) as caught:
            await attempt
        assert caught.value.category == "not_found"
        assert caught.value.engine_code == 1003
        assert caught.value.endpoint == "QIX OpenDoc"
        assert "App not found" in str(caught.value)


async def test_app_of_another_user_is_not_found_for_a_user_without_access(sim: Simulator) -> None:
    user = next(u for u in sim.model.users.values() if u.directory != "INTERNAL" and not u.roles)
    hidden = next(a for a in sim.model.apps.values() if not a.published and a.owner is not user)
    with pytest.raises(QlikError) as caught:
        await _client(sim, f"UserDirectory={user.directory}; UserId={user.user_id}").dump_app(hidden.id)
    assert caught.value.category == "not_found"


async def test_engine_errors_carry_the_code(sim: Simulator) -> None:
    app = _app(sim)
    async with _client(sim).session(app.id) as session:
        with pytest.raises(QlikError) as no_method:
            await session.call(GLOBAL_HANDLE, "NoSuchMethod")
        assert (no_method.value.category, no_method.value.engine_code) == ("engine_error", -32601)
        with pytest.raises(QlikError) as not_open:
            await session.call(GLOBAL_HANDLE, "GetActiveDoc")
        assert (not_open.value.category, not_open.value.engine_code) == ("engine_error", 1017)
        doc = await session.open_doc(app.id)
        with pytest.raises(QlikError) as again:
            await session.open_doc(app.id)
        assert (again.value.category, again.value.engine_code) == ("engine_error", 1002)
        with pytest.raises(QlikError) as no_object:
            await session.object_handle(doc, "GetObject", "no-such-object")
        assert (no_object.value.category, no_object.value.engine_code) == ("not_found", 2)
        with pytest.raises(QlikError) as bad_params:
            await session.call(doc, "DoReload", "not a number")
        assert (bad_params.value.category, bad_params.value.engine_code) == ("engine_error", -32602)
        # the session is still usable after errors
        assert (await session.call(doc, "GetScript"))["qScript"]
        assert session.notifications[0]["method"] == "OnConnected"


async def test_without_client_certificate_the_engine_refuses_at_the_tls_layer(sim: Simulator) -> None:
    with pytest.raises(QlikError) as caught:
        await _client(sim, client_cert="", client_key="").list_apps()
    assert caught.value.category == "tls_error"
    assert caught.value.endpoint == "QIX connect /app/"


async def test_server_certificate_from_another_ca_is_a_tls_error(sim: Simulator) -> None:
    untrusted = str(sim.info.certificates.untrusted_root)
    with pytest.raises(QlikError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        await _client(sim, ca=untrusted).list_apps()
    assert caught.value.category == "tls_error"


async def test_stopped_engine_is_connection_refused(sim: Simulator) -> None:
    await sim.stop_service(sim.model.nodes[0].name, "engine")
    with pytest.raises(QlikError) as caught:
        await _client(sim).list_apps()
    assert caught.value.category == "connection_refused"


async def test_failing_engine_refuses_the_upgrade(sim: Simulator) -> None:
    await sim.set_failing(sim.model.nodes[0].name, "engine", 500)
    with pytest.raises(QlikError) as caught:
        await _client(sim).list_apps()
    assert (caught.value.category, caught.value.status) == ("http_4xx", 403)


async def test_slow_engine_is_a_timeout(sim: Simulator) -> None:
    sim.set_slow(sim.model.nodes[0].name, "engine", 30.0)
    with pytest.raises(QlikError) as caught:
        await _client(sim, timeout_s=0.5).list_apps()
    assert caught.value.category == "timeout"


async def test_reload_without_answer_in_time_is_a_timeout(sim: Simulator) -> None:
    sim.app_reloads.duration = 30.0
    qix = _client(sim)
    qix.reload_timeout_s = 0.3
    with pytest.raises(QlikError) as caught:
        await qix.reload_app(_app(sim).id)
    assert (caught.value.category, caught.value.endpoint) == ("timeout", "QIX DoReloadEx")


def test_script_logs_live_under_the_state_dir(tmp_path: Path) -> None:
    from sensebutler.simulator.app_reloads import AppReloader
    from sensebutler.simulator.model import build_site
    from sensebutler.simulator.scenario import load_scenario

    site = build_site(load_scenario(None))
    reloader = AppReloader(site, tmp_path / "Log", site.rng)
    path = reloader.script_log_path(site.nodes[1], "x.log")
    assert path == tmp_path / "Log" / site.nodes[1].short_name / "Script" / "x.log"


@pytest.mark.parametrize("how", ["restart", "stop"])
async def test_engine_restart_or_stop_ends_open_sessions(sim: Simulator, how: str) -> None:
    node = sim.model.nodes[0].name
    app = _app(sim)
    async with _client(sim).session(app.id) as session:
        doc = await session.open_doc(app.id)
        if how == "restart":
            await sim.restart_engine(node)
        else:
            await sim.stop_service(node, "engine")
        with pytest.raises(QlikError) as caught:
            await session.call(doc, "GetScript")
    assert caught.value.category == "connection_error"
    assert caught.value.endpoint == "QIX GetScript"
    if how == "restart":  # closed by the engine with "service restart"
        assert "1012" in caught.value.detail
