"""The one web server: mounts on named listeners, /health, 404s, HTTPS and mutual TLS, bind errors."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from sensebutler.config import Config
from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime, StartupError
from sensebutler.web.server import WebServer, build


def text_app(body: str) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(f"{body} {scope['path']}")(scope, receive, send)

    return app


def runtime_with(tmp_path: Path, listeners: dict[str, Any]) -> Runtime:
    return Runtime(Config.model_validate({"web": {"listeners": listeners}}), Router(), tmp_path)


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[list[WebServer]]:
    started: list[WebServer] = []
    yield started
    for server in started:
        await server.stop()


async def start_all(runtime: Runtime, started: list[WebServer]) -> dict[str, WebServer]:
    for server in build(runtime):
        await server.start()
        started.append(server)
    return {server.listener: server for server in started}


async def test_mounts_health_and_not_found_on_two_listeners(tmp_path: Path, servers: list[WebServer]) -> None:
    runtime = runtime_with(tmp_path, {"main": {"port": 0}, "metrics": {"port": 0}, "unused": {"port": 0}})
    runtime.web.mount("/metrics", text_app("metrics"), name="metrics", listener="metrics")
    runtime.web.mount("/v4", text_app("api"), name="api", exact=False)
    runtime.web.mount("/exact", text_app("exact"), name="exact")
    by_name = await start_all(runtime, servers)
    assert sorted(by_name) == ["main", "metrics"]  # nothing mounted on "unused": not opened
    main, metrics = by_name["main"].url, by_name["metrics"].url
    assert runtime.web.port("metrics") == by_name["metrics"].port
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(f"{metrics}/metrics")).text == "metrics /metrics"
        assert (await client.get(f"{main}/v4/keyvalues/ns")).text.startswith("api")
        assert (await client.get(f"{main}/exact")).text == "exact /exact"
        health = await client.get(f"{main}/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        missing = await client.get(f"{main}/exact/below")
        assert missing.status_code == 404
        assert missing.json() == {"error": "not found", "paths": ["/health", "/exact", "/v4"]}
        assert (await client.get(f"{metrics}/v4/x")).status_code == 404


def test_a_path_cannot_be_mounted_twice_on_one_listener(tmp_path: Path) -> None:
    runtime = runtime_with(tmp_path, {"main": {"port": 0}})
    runtime.web.mount("/metrics", text_app("a"), name="a")
    with pytest.raises(ValueError, match="/metrics is already mounted"):
        runtime.web.mount("/metrics", text_app("b"), name="b")


def test_a_mount_on_an_unknown_listener_is_a_startup_error(tmp_path: Path) -> None:
    runtime = runtime_with(tmp_path, {"main": {"port": 0}})
    runtime.web.mount("/x", text_app("x"), name="x", listener="elsewhere")
    with pytest.raises(StartupError, match=r"'elsewhere'; web\.listeners has main"):
        build(runtime)


def test_prometheus_on_a_listener_that_does_not_exist_is_a_config_error() -> None:
    with pytest.raises(
        ValueError, match=r"prometheus\.listener is 'metrics', which web\.listeners does not define"
    ):
        Config.model_validate({"prometheus": {"enable": True, "listener": "metrics"}})


async def test_a_port_in_use_is_a_startup_error_naming_the_address(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runtime = runtime_with(tmp_path, {"main": {"port": port}})
        runtime.web.mount("/x", text_app("x"), name="x")
        (server,) = build(runtime)
        with pytest.raises(StartupError, match=f"web.listeners.main: cannot listen on 127.0.0.1:{port}"):
            await server.start()


async def test_https_with_mutual_tls(tmp_path: Path, servers: list[WebServer]) -> None:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("reload-script@example.com")
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key", "client")}
    ca.cert_pem.write_to_path(str(files["ca"]))
    server_cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server_cert.private_key_pem.write_to_path(str(files["key"]))
    client_cert.private_key_and_cert_chain_pem.write_to_path(str(files["client"]))
    tls = {
        "enable": True,
        "cert": str(files["cert"]),
        "key": str(files["key"]),
        "client_ca": str(files["ca"]),
    }
    runtime = runtime_with(tmp_path, {"main": {"port": 0, "tls": tls}})
    runtime.web.mount("/x", text_app("x"), name="x")
    url = (await start_all(runtime, servers))["main"].url
    assert url.startswith("https://")

    trusting = ssl.create_default_context(cafile=str(files["ca"]))
    async with httpx.AsyncClient(verify=trusting, trust_env=False) as client:
        with pytest.raises(httpx.HTTPError):  # no client certificate: refused in the handshake
            await client.get(f"{url}/health")
    with_cert = ssl.create_default_context(cafile=str(files["ca"]))
    with_cert.load_cert_chain(str(files["client"]))
    async with httpx.AsyncClient(verify=with_cert, trust_env=False) as client:
        assert (await client.get(f"{url}/x")).text == "x /x"


async def test_unusable_tls_files_are_a_startup_error_naming_the_listener(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    runtime = runtime_with(
        tmp_path, {"main": {"port": 0, "tls": {"enable": True, "cert": missing, "key": missing}}}
    )
    runtime.web.mount("/x", text_app("x"), name="x")
    (server,) = build(runtime)
    with pytest.raises(StartupError, match=r"web\.listeners\.main\.tls: cannot use the files"):
        await server.start()
