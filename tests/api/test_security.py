"""Keys and scopes, method override, rate limit, body limit, audit log, disabled endpoints, HTTPS."""

from __future__ import annotations

import logging
import re
import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from sensebutler.config import Config, ConfigError, parse_config
from sensebutler.runtime import Runtime
from tests.api.support import ADMIN_KEY, KV_ONLY_KEY, api_config, base_url, client, running


async def test_no_key_is_401_and_a_wrong_key_is_401(api: Runtime) -> None:
    async with client(api, key=None) as c:
        for method, path in [
            ("GET", "/v4/butlerping"),
            ("PUT", "/v4/schedules/startall"),
            ("DELETE", "/v4/keyvalues/x"),
        ]:
            r = await c.request(method, path)
            assert r.status_code == 401, path
            assert r.json()["statusCode"] == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = await c.get("/v4/butlerping", headers={"X-API-Key": "not-a-key-0123456789"})
        assert r.status_code == 401 and r.json()["message"] == "The API key is not valid"


async def test_key_in_header_bearer_or_query_parameter(api: Runtime) -> None:
    async with client(api, key=None) as c:
        assert (await c.get("/v4/butlerping", headers={"X-API-Key": ADMIN_KEY})).status_code == 200
        assert (
            await c.get("/v4/butlerping", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        ).status_code == 200
        assert (await c.get("/v4/butlerping", params={"apikey": ADMIN_KEY})).status_code == 200


async def test_a_key_without_the_scope_is_403(api: Runtime) -> None:
    async with client(api, key=KV_ONLY_KEY) as c:
        assert (await c.post("/v4/keyvalues/ns", json={"key": "k", "value": "v"})).status_code == 201
        r = await c.get("/v4/butlerping")
        assert r.status_code == 403 and "butlerping" in r.json()["message"]
        assert (await c.put("/v4/schedules/startall")).status_code == 403
        r = await c.post("/v4/schedules/startall", headers={"X-HTTP-Method-Override": "PUT"})
        assert r.status_code == 403
        assert (await c.get("/config/json")).status_code == 403


async def test_method_override_reaches_put_and_delete(api: Runtime) -> None:
    spec = {
        "name": "n",
        "cronSchedule": "0 6 * * *",
        "timezone": "UTC",
        "qlikSenseTaskId": "t",
        "startupState": "stopped",
    }
    async with client(api) as c:
        schedule = (await c.post("/v4/schedules", json=spec)).json()
        r = await c.post(f"/v4/schedules/{schedule['id']}/start", headers={"X-HTTP-Method-Override": "PUT"})
        assert r.status_code == 200 and r.json()[0]["lastKnownState"] == "started"
        # without the header the POST does not reach the PUT handler
        assert (await c.post(f"/v4/schedules/{schedule['id']}/start")).status_code == 405
        r = await c.post(f"/v4/schedules/{schedule['id']}", headers={"X-HTTP-Method-Override": "DELETE"})
        assert r.status_code == 204
        assert (await c.get("/v4/schedules", params={"id": schedule["id"]})).status_code == 400
        # only POST is overridden
        r = await c.get("/v4/keyvaluesnamespaces", headers={"X-HTTP-Method-Override": "DELETE"})
        assert r.status_code == 200


async def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    config = api_config(tmp_path, rate_limit={"per_minute": 1, "burst": 3})
    async with running(config) as runtime, client(runtime) as c:
        codes = [(await c.get("/v4/butlerping")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        r = await c.get("/v4/butlerping")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["statusCode"] == 429


async def test_rate_limit_can_be_switched_off(tmp_path: Path) -> None:
    config = api_config(tmp_path, rate_limit={"enable": False, "per_minute": 1, "burst": 1})
    async with running(config) as runtime, client(runtime) as c:
        assert {(await c.get("/v4/butlerping")).status_code for _ in range(10)} == {200}


async def test_body_limit_is_413(tmp_path: Path) -> None:
    config = api_config(tmp_path, max_body_bytes=2048)
    async with running(config) as runtime, client(runtime) as c:
        r = await c.post("/v4/keyvalues/big", json={"key": "k", "value": "x" * 4000})
        assert r.status_code == 413 and r.json()["statusCode"] == 413

        async def chunks():  # no Content-Length: counted while read
            for _ in range(5):
                yield b"x" * 1000

        r = await c.post("/v4/keyvalues/big", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert (await c.get("/v4/keyvaluesnamespaces")).json() == []


async def test_audit_log_one_line_per_mutating_call_without_secrets(
    api: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sensebutler.api.audit")
    async with client(api, key=None) as c:
        await c.post(
            "/v4/keyvalues/audit", json={"key": "k", "value": "secret-value"}, params={"apikey": ADMIN_KEY}
        )
        await c.post(
            "/v4/keyvalues/audit/k", headers={"X-HTTP-Method-Override": "DELETE", "X-API-Key": ADMIN_KEY}
        )
        await c.get("/v4/keyvaluesnamespaces", headers={"X-API-Key": ADMIN_KEY})
        await c.put("/v4/schedules/startall")
    lines = [r.getMessage() for r in caplog.records if r.name == "sensebutler.api.audit"]
    assert len(lines) == 3, lines
    assert "caller=admin" in lines[0] and "POST /v4/keyvalues/audit -> 201" in lines[0]
    assert "DELETE (POST with X-HTTP-Method-Override) /v4/keyvalues/audit/k -> 204" in lines[1]
    assert "caller=- " in lines[2] and "-> 401" in lines[2]
    for line in lines:
        assert ADMIN_KEY not in line and "secret-value" not in line


async def test_disabled_endpoints_are_404_and_absent_from_the_documentation(tmp_path: Path) -> None:
    config = api_config(tmp_path, endpoints={"butlerping": True})
    config["api"]["scheduler"]["enable"] = False
    async with running(config) as runtime, client(runtime) as c:
        assert (await c.get("/v4/butlerping")).status_code == 200
        r = await c.get("/v4/keyvaluesnamespaces")
        assert r.status_code == 404 and r.json()["statusCode"] == 404
        assert (await c.get("/v4/schedules")).status_code == 404
        assert (await c.get("/config/json")).status_code == 404
        paths = (await c.get("/documentation/json")).json()["paths"]
        assert list(paths) == ["/v4/butlerping"]


async def test_documentation_declares_the_security_schemes(api: Runtime) -> None:
    async with client(api, key=None) as c:
        spec = (await c.get("/documentation/json")).json()
        schemes = spec["components"]["securitySchemes"]
        assert {s["type"] for s in schemes.values()} == {"apiKey", "http"}
        assert {s.get("in") for s in schemes.values()} == {"header", "query", None}
        assert "/v4/keyvalues/{namespace}" in spec["paths"]
        assert (await c.get("/documentation")).status_code == 200
        assert "openapi" in (await c.get("/documentation/yaml")).text


async def test_config_visualisation_masks_secrets(tmp_path: Path) -> None:
    config = api_config(tmp_path)
    config["state"] = {"dir": str(tmp_path / "state"), "redis_url": "redis://:hunter2-password@h:6379/0"}
    async with running(config) as runtime, client(runtime) as c:
        data = (await c.get("/config/json")).json()
        assert data["api"]["keys"][0]["key"] == "**********"
        assert data["state"]["redis_url"] == "**********"
        page = await c.get("/config")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        for text in (page.text, str(data)):
            assert ADMIN_KEY not in text and KV_ONLY_KEY not in text and "hunter2" not in text


def test_api_on_without_keys_refuses_to_start_unless_anonymous_is_explicit(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="allow_anonymous"):
        parse_config("api:\n  enable: true\n", tmp_path / "c.yaml")
    config = Config.model_validate({"api": {"enable": True, "allow_anonymous": True}})
    assert config.api.allow_anonymous
    with pytest.raises(ValueError, match="at least 16"):
        Config.model_validate({"api": {"enable": True, "keys": [{"name": "a", "key": "short"}]}})
    with pytest.raises(ValueError, match="unknown scope"):
        Config.model_validate(
            {"api": {"enable": True, "keys": [{"name": "a", "key": "x" * 20, "scopes": ["everything"]}]}}
        )
    with pytest.raises(ValueError, match="scheduler"):
        Config.model_validate(
            {"api": {"enable": True, "allow_anonymous": True, "endpoints": {"get_schedule": True}}}
        )


async def test_anonymous_access_when_allowed(tmp_path: Path) -> None:
    config = api_config(tmp_path, keys=[], allow_anonymous=True)
    async with running(config) as runtime, client(runtime, key=None) as c:
        assert (await c.get("/v4/butlerping")).status_code == 200
        assert (
            await c.get("/v4/butlerping", headers={"X-API-Key": "wrong-key-0123456789"})
        ).status_code == 401


async def test_https_with_client_certificates_on_the_api_listener(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("api-client")
    paths = {name: tmp_path / f"{name}.pem" for name in ("cert", "key", "ca", "client")}
    server_cert.cert_chain_pems[0].write_to_path(paths["cert"])
    server_cert.private_key_pem.write_to_path(paths["key"])
    ca.cert_pem.write_to_path(paths["ca"])
    client_cert.private_key_and_cert_chain_pem.write_to_path(paths["client"])
    config = api_config(tmp_path)
    config["web"]["listeners"]["main"]["tls"] = {
        "enable": True,
        "cert": str(paths["cert"]),
        "key": str(paths["key"]),
        "client_ca": str(paths["ca"]),
    }
    async with running(config) as runtime:
        url = base_url(runtime).replace("http://", "https://")
        with_cert = ssl.create_default_context(cafile=str(paths["ca"]))
        with_cert.load_cert_chain(str(paths["client"]))
        async with httpx.AsyncClient(verify=with_cert, trust_env=False) as c:
            r = await c.get(f"{url}/v4/butlerping", headers={"X-API-Key": ADMIN_KEY})
            assert r.status_code == 200
        without = ssl.create_default_context(cafile=str(paths["ca"]))
        async with httpx.AsyncClient(verify=without, trust_env=False) as c:
            with pytest.raises(httpx.HTTPError):
                await c.get(f"{url}/v4/butlerping", headers={"X-API-Key": ADMIN_KEY})


async def test_documentation_page_loads_its_assets_from_sensebutler_not_a_cdn(api: Runtime) -> None:
    async with client(api, key=None) as c:
        page = (await c.get("/documentation")).text
        urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page)
        assert "/documentation/assets/swagger-ui-bundle.js" in urls, page
        assert not [u for u in urls if "://" in u], urls
        for url in urls:
            assert (await c.get(url)).status_code == 200, url
