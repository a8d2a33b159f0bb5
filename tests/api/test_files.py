"""File operations over HTTP: approved pairs, Butler's answers, and a corpus of escape attempts that
must all be 403 with nothing on disk changed."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sensebutler.runtime import Runtime
from tests.api.support import KV_ONLY_KEY, api_config, client, running

SWITCHES = {
    "file_copy": True,
    "file_move": True,
    "file_delete": True,
    "create_dir": True,
    "create_dir_qvd": True,
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``area/{src,dst,del,qvd,mk}`` approved, ``outside`` not; symlinks from inside to outside."""
    root = tmp_path / "area"
    for name in ("src", "dst", "del", "qvd", "mk", "srcx"):
        (root / name).mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "src" / "file1.qvd").write_text("data 1")
    (root / "del" / "old.qvd").write_text("old")
    (root / "src" / "link-out").symlink_to(outside / "secret.txt")
    (root / "src" / "dir-out").symlink_to(outside)
    (root / "dst" / "dir-out").symlink_to(outside)
    (root / "del" / "dir-out").symlink_to(outside)
    (root / "qvd" / "dir-out").symlink_to(outside)
    (root / "mk" / "dir-out").symlink_to(outside)
    for name in ("del", "mk"):
        (root / name / "link-out").symlink_to(outside / "secret.txt")
    return tmp_path


def _files(tmp_path: Path) -> dict[str, tuple[str, float]]:
    """Every path under ``tmp_path`` (outside the state dir) with its content or link and mtime."""
    found: dict[str, tuple[str, float]] = {}
    for base, dirs, names in os.walk(tmp_path):
        if "state" in Path(base).relative_to(tmp_path).parts[:1]:
            continue
        for name in dirs + names:
            path = Path(base) / name
            if path.is_symlink():
                found[str(path)] = ("-> " + os.readlink(path), 0.0)
            elif path.is_file():
                found[str(path)] = (path.read_text(), path.stat().st_mtime)
            else:
                found[str(path)] = ("dir", 0.0)
    return found


@pytest.fixture
async def api(tree: Path) -> AsyncIterator[Runtime]:
    area = tree / "area"
    config = api_config(
        tree,
        files={
            "copy_approved": [{"from_directory": str(area / "src"), "to_directory": str(area / "dst")}],
            "move_approved": [
                {"from_directory": str(area / "src") + "\\", "to_directory": str(area / "dst")}
            ],
            "delete_approved": [str(area / "del")],
            "create_dir_roots": [str(area / "mk")],
            "qvd_path": str(area / "qvd"),
        },
    )
    config["api"]["endpoints"] = {**config["api"]["endpoints"], **SWITCHES}
    async with running(config) as runtime:
        yield runtime


async def test_butler_operations(api: Runtime, tree: Path) -> None:
    area = tree / "area"
    async with client(api) as c:
        body = {
            "fromFile": f"{area}/src/file1.qvd",
            "toFile": f"{area}//dst/x/../copy.qvd",
            "overwrite": "true",
        }
        r = await c.put("/v4/filecopy", json={**body, "preserveTimestamp": True})
        assert r.status_code == 201, r.text
        assert r.json() == {
            "fromFile": f"{area}/src/file1.qvd",
            "toFile": f"{area}/dst/copy.qvd",
            "overwrite": True,
            "preserveTimestamp": True,
        }
        assert (area / "dst" / "copy.qvd").read_text() == "data 1"
        assert (area / "dst" / "copy.qvd").stat().st_mtime == (area / "src" / "file1.qvd").stat().st_mtime
        r = await c.put("/v4/filecopy", json={**body, "overwrite": False})
        assert r.status_code == 409
        r = await c.put("/v4/filecopy", json={**body, "fromFile": f"{area}/src/nope.qvd"})
        assert r.status_code == 404

        r = await c.put(
            "/v4/filemove",
            json={"fromFile": f"{area}\\src\\file1.qvd", "toFile": f"{area}/dst/moved.qvd"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["fromFile"] == f"{area}/src/file1.qvd"
        assert not (area / "src" / "file1.qvd").exists() and (area / "dst" / "moved.qvd").exists()

        r = await c.request("DELETE", "/v4/filedelete", json={"deleteFile": f"{area}/del/old.qvd"})
        assert r.status_code == 204 and not (area / "del" / "old.qvd").exists()
        r = await c.request("DELETE", "/v4/filedelete", json={"deleteFile": f"{area}/del/old.qvd"})
        assert r.status_code == 404 and r.json()["message"] == "Delete failed, file does not exist"
        override = await c.post(
            "/v4/filedelete",
            json={"deleteFile": f"{area}/del/old.qvd"},
            headers={"X-HTTP-Method-Override": "DELETE"},
        )
        assert override.status_code == 404

        r = await c.post("/v4/createdirqvd", json={"directory": "subfolder/2020-10"})
        assert r.status_code == 201 and r.json() == {"directory": "subfolder/2020-10"}
        assert (area / "qvd" / "subfolder" / "2020-10").is_dir()
        r = await c.post("/v4/createdir", json={"directory": f"{area}/mk/2020"})
        assert r.status_code == 201 and (area / "mk" / "2020").is_dir()
        r = await c.post("/v4/createdir", json={"directory": "rel/a"})
        assert r.status_code == 201 and (area / "mk" / "rel" / "a").is_dir()

        r = await c.put("/v4/filecopy", json=body, headers={"X-API-Key": KV_ONLY_KEY})
        assert r.status_code == 403
        r = await c.put("/v4/filecopy", json={"toFile": "/x"})
        assert r.status_code == 400 and r.json()["code"] == "FST_ERR_VALIDATION"


def _corpus(tree: Path) -> list[tuple[str, str, dict[str, Any]]]:
    area, outside = tree / "area", tree / "outside"
    src, dst, dele = f"{area}/src", f"{area}/dst", f"{area}/del"
    escapes = [
        f"{outside}/secret.txt",
        f"{src}/../../outside/secret.txt",
        f"{src}/..//..//outside/secret.txt",
        f"{src}\\..\\..\\outside\\secret.txt",
        f"{src}/%2e%2e/%2e%2e/outside/secret.txt",
        f"{src}/..%2f..%2foutside%2fsecret.txt",
        f"{src}/..%5c..%5coutside%5csecret.txt",
        f"{src}/link-out",
        f"{src}/dir-out/secret.txt",
        f"{area}/srcx/none.qvd",
        "//fileserver/share/qvd/file.qvd",
        "\\\\fileserver\\share\\qvd\\file.qvd",
        "C:\\data\\qvd\\file.qvd",
        "c:/data/qvd/file.qvd",
        "src/file1.qvd",
        f"{src}/file\x00.qvd",
        f"{src}",
        "/",
        "/etc/passwd",
    ]
    dest_escapes = [
        f"{outside}/new.txt",
        f"{dst}/../../outside/new.txt",
        f"{dst}/dir-out/new.txt",
        f"{dst}\\..\\..\\outside\\new.txt",
        f"{dst}/..%2f..%2foutside/new.txt",
        "//fileserver/share/new.txt",
        f"{dst}",
    ]
    good_src, good_dst = f"{src}/file1.qvd", f"{dst}/new.qvd"
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for bad in escapes:
        calls.append(("PUT", "/v4/filecopy", {"fromFile": bad, "toFile": good_dst, "overwrite": True}))
        calls.append(("PUT", "/v4/filemove", {"fromFile": bad, "toFile": good_dst, "overwrite": True}))
        calls.append(("DELETE", "/v4/filedelete", {"deleteFile": bad.replace(src, dele)}))
        if bad not in ("src/file1.qvd", src):  # these name legitimate places below the createdir root
            calls.append(("POST", "/v4/createdir", {"directory": bad.replace(src, f"{area}/mk") + "/x"}))
    for bad in dest_escapes:
        calls.append(("PUT", "/v4/filecopy", {"fromFile": good_src, "toFile": bad, "overwrite": True}))
        calls.append(("PUT", "/v4/filemove", {"fromFile": good_src, "toFile": bad, "overwrite": True}))
    for bad in (
        "../x",
        "../../outside/x",
        "..\\..\\outside\\x",
        "dir-out/x",
        "%2e%2e/x",
        "/abs/x",
        "a/../../x",
    ):
        calls.append(("POST", "/v4/createdirqvd", {"directory": bad}))
    calls.append(("DELETE", "/v4/filedelete", {"deleteFile": dele}))
    calls.append(("DELETE", "/v4/filedelete", {"deleteFile": f"{dele}/dir-out"}))
    calls.append(("POST", "/v4/createdir", {"directory": "../escape"}))
    return calls


async def test_escape_corpus_is_403_and_changes_nothing(api: Runtime, tree: Path) -> None:
    before = _files(tree)
    async with client(api) as c:
        for method, path, body in _corpus(tree):
            r = await c.request(method, path, json=body)
            assert r.status_code == 403, (method, path, body, r.status_code, r.text)
            assert r.json()["statusCode"] == 403
    assert _files(tree) == before


async def test_no_existence_oracle(api: Runtime, tree: Path) -> None:
    """Outside the approved directories an existing and a missing file get the same answer."""
    outside = tree / "outside"
    async with client(api) as c:
        answers = []
        for name in ("secret.txt", "missing.txt"):
            r: httpx.Response = await c.request(
                "DELETE", "/v4/filedelete", json={"deleteFile": f"{outside}/{name}"}
            )
            answers.append((r.status_code, r.json()["message"]))
        assert answers[0] == answers[1] == (403, "No approved directory for file delete")


async def test_nothing_approved_refuses_everything(tmp_path: Path) -> None:
    config = api_config(tmp_path)
    config["api"]["endpoints"] = {**config["api"]["endpoints"], **SWITCHES}
    (tmp_path / "a.txt").write_text("a")
    async with running(config) as runtime, client(runtime) as c:
        body = {"fromFile": str(tmp_path / "a.txt"), "toFile": str(tmp_path / "b.txt")}
        assert (await c.put("/v4/filecopy", json=body)).status_code == 403
        assert (await c.post("/v4/createdir", json={"directory": str(tmp_path / "d")})).status_code == 403
        assert (await c.post("/v4/createdirqvd", json={"directory": "d"})).status_code == 400
    assert not (tmp_path / "b.txt").exists() and not (tmp_path / "d").exists()
