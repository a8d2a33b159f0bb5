"""Outgoing webhooks against real local HTTP(S) receivers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.webhook.sink import WebhookSink, build
from tests.alerts import samples
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver, TlsFiles
from tests.sinks.alert_channels import alert, config, running

BUTLER_FIELDS = [
    "event",
    "hostName",
    "user",
    "taskName",
    "taskId",
    "appName",
    "appId",
    "appOwnerName",
    "appOwnerUserDirectory",
    "appOwnerUserId",
    "appOwnerEmail",
    "logTimeStamp",
    "logLevel",
    "executionId",
    "logMessage",
]


def webhook_config(*targets: dict[str, Any], **section: Any) -> Any:
    return config(webhook={"enable": True, "webhooks": list(targets), **section})


async def test_get_post_and_put_carry_butlers_fields(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = webhook_config(
        {"description": "get", "url": f"{http_receiver.url}/get?token=abc", "method": "get"},
        {"description": "post", "url": f"{http_receiver.url}/post", "method": "POST"},
        {"description": "put", "url": f"{http_receiver.url}/put", "method": "PUT"},
        reload_aborted={"rate_limit_s": 0},
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert("failed"))
        sink.submit(alert("aborted"))
        requests = await http_receiver.wait_for(6)
        await async_wait_until(lambda: sink.stats().delivered == 6, 10, "six requests delivered")

    by_path: dict[str, list[Any]] = {}
    for request in requests:
        by_path.setdefault(request.path, []).append(request)
    get = sorted(by_path["/get"], key=lambda r: r.query["event"])
    assert [r.method for r in get] == ["GET", "GET"]
    assert get[0].body == b""
    expected = {
        "event": "Qlik Sense reload aborted",
        "hostName": "QLIKSERVER1",
        "user": "LAB\\goran",
        "taskName": "Reload of Sales",
        "taskId": samples.TASK_ID,
        "appName": "Sales & <Marketing>",
        "appId": samples.APP_ID,
        "appOwnerName": "Anna Lindqvist",
        "appOwnerUserDirectory": "LAB",
        "appOwnerUserId": "anna",
        "appOwnerEmail": "anna@lab.example.com",
        "logTimeStamp": "2024-01-05 11:22:11,123",
        "logLevel": "ERROR",
        "executionId": samples.EXECUTION_ID,
        "logMessage": "Max retries reached",
        "missing": "",
    }
    assert get[0].query == {"token": "abc", **expected}
    assert get[1].query["event"] == "Qlik Sense reload failed"
    for path, method in (("/post", "POST"), ("/put", "PUT")):
        bodies = sorted((r.json() for r in by_path[path]), key=lambda body: body["event"])
        assert {r.method for r in by_path[path]} == {method}
        assert {r.headers["content-type"] for r in by_path[path]} == {"application/json"}
        assert bodies[0] == expected
        assert list(bodies[1])[: len(BUTLER_FIELDS)] == BUTLER_FIELDS  # Butler's order
        assert bodies[1]["event"] == "Qlik Sense reload failed"


async def test_what_could_not_be_fetched_is_named(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = webhook_config({"url": f"{http_receiver.url}/hook"})
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert(owner=None, script_log=None, missing=("script log", "app owner")))
        (request,) = await http_receiver.wait_for(1)
    body = request.json()
    assert body["missing"] == "script log unavailable; app owner unavailable"
    assert body["appOwnerName"] == "" and body["appOwnerEmail"] == ""


async def test_a_webhook_with_its_own_ca_over_https(
    https_receiver: HttpReceiver, tls_files: TlsFiles, tmp_path: Path
) -> None:
    trusted = {"url": f"{https_receiver.url}/own-ca", "tls": {"ca": str(tls_files.ca_cert_path)}}
    untrusted = {"url": f"{https_receiver.url}/system-store"}
    made = webhook_config(
        trusted, untrusted, delivery={"batch_size": 1, "retry": {"attempts_before_spool": 1}}
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert())
        await https_receiver.wait_for(1)
        # the other webhook trusts only the system store, which does not know the test CA
        await async_wait_until(lambda: sink.stats().spooled == 1, 20, "the untrusted request spooled")
    assert [r.path for r in https_receiver.requests] == ["/own-ca"]
    assert "certificate" in sink.stats().last_error.lower()


async def test_insecure_is_opt_in(https_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = webhook_config({"url": f"{https_receiver.url}/insecure", "tls": {"verify": False}})
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert())
        (request,) = await https_receiver.wait_for(1)
    assert request.path == "/insecure"


async def test_a_500_is_retried_and_delivered_once_a_400_is_dropped_and_counted(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    http_receiver.respond("/flaky", 500, 200)
    http_receiver.respond("/bad", 400)
    made = webhook_config({"url": f"{http_receiver.url}/flaky"}, {"url": f"{http_receiver.url}/bad"})
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert())
        await async_wait_until(
            lambda: sink.stats().delivered == 1 and sink.stats().dropped["rejected"] == 1, 20, "one each"
        )
        stats = sink.stats()
    assert [r.status for r in http_receiver.requests_to("/flaky")] == [500, 200]
    assert [r.status for r in http_receiver.requests_to("/bad")] == [400]
    assert stats.retried == 1
    assert "HTTP 400" in stats.last_error and "/bad" not in stats.last_error  # the path may be secret


async def test_a_429_is_transient(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    http_receiver.respond("/busy", 429, 204)
    made = webhook_config({"url": f"{http_receiver.url}/busy"})
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert())
        await async_wait_until(lambda: sink.stats().delivered == 1, 20, "delivered after the 429")
    assert [r.status for r in http_receiver.requests_to("/busy")] == [429, 204]


async def test_the_rate_limit_is_per_task_and_event(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    other_task = "0e2cbd1c-0000-4000-8000-000000000001"
    made = webhook_config({"url": f"{http_receiver.url}/hook"}, reload_aborted={"rate_limit_s": 3600})
    async with running(made, tmp_path, build) as sink:
        for _ in range(3):
            sink.submit(alert("failed"))
        sink.submit(alert("aborted"))
        sink.submit(alert("failed", task_id=other_task))
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 2, 10, "two limited")
        await async_wait_until(lambda: sink.stats().delivered == 3, 10, "three delivered")
    sent = sorted((r.json()["event"], r.json()["taskId"]) for r in http_receiver.requests)
    assert sent == [
        ("Qlik Sense reload aborted", samples.TASK_ID),
        ("Qlik Sense reload failed", other_task),
        ("Qlik Sense reload failed", samples.TASK_ID),
    ]
    # and the limit survives a restart: the state backend is the same file
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert("failed"))
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 1, 10, "limited after restart")
    assert len(http_receiver.requests) == 3


async def test_an_event_may_have_its_own_webhooks(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = webhook_config(
        {"url": f"{http_receiver.url}/all"},
        reload_aborted={"webhooks": [{"url": f"{http_receiver.url}/aborted", "method": "PUT"}]},
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert("aborted"))
        sink.submit(alert("failed"))
        await http_receiver.wait_for(2)
        await async_wait_until(lambda: sink.stats().delivered == 2, 10, "two delivered")
    assert sorted((r.path, r.method) for r in http_receiver.requests) == [
        ("/aborted", "PUT"),
        ("/all", "POST"),
    ]


def test_config_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no webhooks for reload_failed"):
        webhook_config()
    with pytest.raises(ValidationError, match="must start with http"):
        webhook_config({"url": "ftp://example.com/x"})
    with pytest.raises(ValidationError, match="https:// URLs only"):
        webhook_config({"url": "http://example.com/x", "tls": {"ca": "/x.pem"}})
    with pytest.raises(ValidationError):
        webhook_config({"url": "http://example.com/x", "method": "DELETE"})
    made = webhook_config({"url": "https://example.com/x", "tls": {"ca": str(tmp_path / "missing.pem")}})
    with pytest.raises(StartupError, match=r"webhook\.webhooks\[0\]\.tls\.ca"):
        build(Runtime(made, Router(), tmp_path))
    assert build(Runtime(config(), Router(), tmp_path)) == []
    (sink,) = build(Runtime(webhook_config({"url": "https://example.com/x"}), Router(), tmp_path))
    assert isinstance(sink, WebhookSink)
    assert sink.delivery.config.batch_size == 1  # each alert request is its own batch
