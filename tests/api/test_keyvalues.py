"""The key-value store over HTTP: Butler's documented examples, its quirks fixed, and limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from sensebutler.runtime import Runtime
from tests.api.support import api_config, client, eventually, running

NS = "Sales ETL step 2"
NSQ = quote(NS)


async def test_butler_examples_set_get_exists_list_delete(api: Runtime) -> None:
    """Appendix A of the reference, request by request."""
    async with client(api) as c:
        r = await c.post(
            f"/v4/keyvalues/{NSQ}",
            json={"key": "Last extract timestamp", "value": "2020-09-29 17:14:56", "ttl": 60000},
        )
        assert r.status_code == 201
        assert r.json() == {
            "namespace": NS,
            "key": "Last extract timestamp",
            "value": "2020-09-29 17:14:56",
            "ttl": 60000,
        }

        r = await c.get(f"/v4/keyvalues/{NSQ}", params={"key": "Last extract timestamp"})
        assert r.status_code == 200
        assert r.json() == {"namespace": NS, "key": "Last extract timestamp", "value": "2020-09-29 17:14:56"}

        r = await c.get(f"/v4/keyvalues/{NSQ}/keyexists", params={"key": "nope"})
        assert (r.status_code, r.json()) == (200, {"keyExists": False, "keyValue": {}})
        r = await c.get(f"/v4/keyvalues/{NSQ}/keyexists", params={"key": "Last extract timestamp"})
        assert r.json() == {
            "keyExists": True,
            "keyValue": {"namespace": NS, "key": "Last extract timestamp", "value": "2020-09-29 17:14:56"},
        }

        r = await c.get(f"/v4/keylist/{NSQ}")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == {"namespace": NS, "keys": [{"key": "Last extract timestamp"}]}

        r = await c.get("/v4/keyvalues/unknown-ns", params={"key": "a"})
        assert (r.status_code, r.json()) == (
            400,
            {"statusCode": 400, "error": "Bad Request", "message": "Namespace not found: unknown-ns"},
        )

        r = await c.get(f"/v4/keyvalues/{NSQ}")
        assert r.status_code == 400
        assert r.json()["code"] == "FST_ERR_VALIDATION" and "'key'" in r.json()["message"]

        r = await c.get(f"/v4/keyvalues/{NSQ}", params={"key": "nope"})
        assert r.status_code == 400 and r.json()["message"] == f"Key 'nope' not found in namespace: {NS}"

        assert (await c.delete(f"/v4/keyvalues/{NSQ}/{quote('Last extract timestamp')}")).status_code == 204
        assert (await c.delete(f"/v4/keyvalues/{NSQ}/{quote('Last extract timestamp')}")).status_code == 400
        assert (await c.get("/v4/keyvaluesnamespaces")).json() == [NS]  # stays until deleted
        assert (await c.delete(f"/v4/keyvalues/{NSQ}")).status_code == 204
        assert (await c.delete(f"/v4/keyvalues/{NSQ}")).status_code == 400
        r = await c.get("/v4/keyvaluesnamespaces")
        assert (r.status_code, r.json()) == (200, [])


async def test_ttl_expires_without_reads_and_overwrite_restarts_it(api: Runtime) -> None:
    async with client(api) as c:
        assert (
            await c.post("/v4/keyvalues/ttl", json={"key": "short", "value": "1", "ttl": 300})
        ).status_code == 201
        assert (
            await c.post("/v4/keyvalues/ttl", json={"key": "kept", "value": "1", "ttl": 0})
        ).status_code == 201
        assert (
            await c.post("/v4/keyvalues/ttl", json={"key": "renewed", "value": "old", "ttl": 300})
        ).status_code == 201
        r = await c.post("/v4/keyvalues/ttl", json={"key": "renewed", "value": "new", "ttl": 600_000})
        assert r.json()["ttl"] == 600_000

        async def short_gone() -> bool:
            return (await c.get("/v4/keylist/ttl")).json()["keys"] == [{"key": "kept"}, {"key": "renewed"}]

        await eventually(short_gone, what="the 300 ms key to expire")
        r = await c.get("/v4/keyvalues/ttl", params={"key": "short"})
        assert r.status_code == 400
        assert (await c.get("/v4/keyvalues/ttl/keyexists", params={"key": "short"})).json()[
            "keyExists"
        ] is False
        assert (await c.get("/v4/keyvalues/ttl", params={"key": "renewed"})).json()["value"] == "new"
        assert await api.state.ttl("kv:v:ttl:renewed") is not None
        assert await api.state.ttl("kv:v:ttl:kept") is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"key": "a", "value": "b", "ttl": -1}, "ttl"),
        ({"key": "a", "value": "b", "ttl": "-5"}, "ttl"),
        ({"key": "a", "value": "b", "ttl": "soon"}, "ttl"),
        ({"key": "a"}, "'value' is required"),
        ({"value": "b"}, "'key' is required"),
        ({"key": "", "value": "b"}, "key"),
        ({"key": "a", "value": {"nested": 1}}, "value"),
        ([1, 2], "body"),
    ],
)
async def test_bad_input_is_400_and_stores_nothing(api: Runtime, body: Any, fragment: str) -> None:
    async with client(api) as c:
        r = await c.post("/v4/keyvalues/bad", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["statusCode"] == 400 and fragment in r.json()["message"]
        assert (await c.get("/v4/keyvaluesnamespaces")).json() == []


async def test_body_that_is_not_json_is_400(api: Runtime) -> None:
    async with client(api) as c:
        r = await c.post(
            "/v4/keyvalues/bad", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400 and "JSON" in r.json()["message"]


async def test_values_numbers_and_booleans_are_kept_as_text(api: Runtime) -> None:
    async with client(api) as c:
        r = await c.post("/v4/keyvalues/types", json={"key": 42, "value": 12345.789, "ttl": "60000"})
        assert r.status_code == 201
        assert r.json() == {"namespace": "types", "key": "42", "value": "12345.789", "ttl": 60000}
        r = await c.post("/v4/keyvalues/types", json={"key": "flag", "value": True})
        assert r.json()["value"] == "true" and r.json()["ttl"] == 0


async def test_namespace_with_colon_keeps_its_key_names(api: Runtime) -> None:
    """Butler mangles key names of a namespace containing ':' in keylist; here they stay whole."""
    async with client(api) as c:
        await c.post("/v4/keyvalues/a:b", json={"key": "c:d", "value": "1"})
        await c.post("/v4/keyvalues/a", json={"key": "b:c:d", "value": "2"})
        assert (await c.get("/v4/keylist/a:b")).json()["keys"] == [{"key": "c:d"}]
        assert (await c.get("/v4/keylist/a")).json()["keys"] == [{"key": "b:c:d"}]
        assert sorted((await c.get("/v4/keyvaluesnamespaces")).json()) == ["a", "a:b"]


async def test_per_namespace_key_limit_is_enforced(tmp_path: Path) -> None:
    config = api_config(tmp_path, key_value_store={"max_keys_per_namespace": 3})
    async with running(config) as runtime, client(runtime) as c:
        for n in range(3):
            assert (
                await c.post("/v4/keyvalues/full", json={"key": f"k{n}", "value": "v"})
            ).status_code == 201
        r = await c.post("/v4/keyvalues/full", json={"key": "k3", "value": "v"})
        assert r.status_code == 400 and "max_keys_per_namespace" in r.json()["message"]
        # overwriting an existing key and other namespaces are still fine
        assert (await c.post("/v4/keyvalues/full", json={"key": "k0", "value": "w"})).status_code == 201
        assert (await c.post("/v4/keyvalues/other", json={"key": "k3", "value": "v"})).status_code == 201


async def test_butler_subs_qvs_calls(api: Runtime) -> None:
    """The KV subs in butler_subs.qvs, as the REST connector sends them (POST with override, string TTLs)."""
    async with client(api) as c:
        # AddKeyValue: TTL as a string, Content-Type set by the sub
        r = await c.post(
            "/v4/keyvalues/MyNamespace",
            content=b'{"key": "k1", "value": "v1", "ttl": "60000"}',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 201 and r.json()["ttl"] == 60000
        r = await c.post(
            "/v4/keyvalues/MyNamespace",
            content=b'{"key": "k2", "value": "v2"}',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 201
        # GetKeyValue
        assert (await c.get("/v4/keyvalues/MyNamespace?key=k1")).json()["value"] == "v1"
        # ExistsKeyValue
        assert (await c.get("/v4/keyvalues/MyNamespace/keyexists?key=k1")).json()["keyExists"] is True
        # GetKeyValueNamespaces, GetAllKeysInNamespace
        assert (await c.get("/v4/keyvaluesnamespaces")).json() == ["MyNamespace"]
        assert (await c.get("/v4/keylist/MyNamespace")).json()["keys"] == [{"key": "k1"}, {"key": "k2"}]
        # DeleteKeyValue: POST with override, no body
        r = await c.post("/v4/keyvalues/MyNamespace/k1", headers={"X-HTTP-Method-Override": "DELETE"})
        assert r.status_code == 204
        assert (await c.get("/v4/keyvalues/MyNamespace/keyexists?key=k1")).json()["keyExists"] is False
        # DeleteKeyValueNamespace
        r = await c.post("/v4/keyvalues/MyNamespace", headers={"X-HTTP-Method-Override": "DELETE"})
        assert r.status_code == 204
        assert (await c.get("/v4/keyvaluesnamespaces")).json() == []


@pytest.mark.parametrize("field", ["key", "value"])
async def test_lone_surrogate_is_400_and_stores_nothing(api: Runtime, field: str) -> None:
    pair = {"key": '"k"', "value": '"v"', field: '"\\ud800"'}
    body = f'{{"key": {pair["key"]}, "value": {pair["value"]}}}'.encode()
    async with client(api) as c:
        r = await c.post("/v4/keyvalues/bad", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert field in r.json()["message"]
        assert (await c.get("/v4/keyvaluesnamespaces")).json() == []
