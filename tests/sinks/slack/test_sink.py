"""Slack against a real local HTTP receiver: basic and formatted messages, Butler's templates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from sensebutler.pipeline.router import Router
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.slack.sink import SlackSink, build
from tests.alerts import samples
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver
from tests.sinks.alert_channels import COMPAT_TEMPLATES, alert, config, running

TRICKY_LOG = "".join(
    f'{n:04d} LOAD "Sales" FROM [lib://Data\\sales.qvd] (qvd); // it\'s `odd` & <b>\r\n\tdone\r\n'
    for n in range(400)
)


def slack_config(url: str, **section: Any) -> Any:
    return config(slack={"enable": True, "webhook_url": f"{url}/services/T0/B0/secret", **section})


async def post_one(receiver: HttpReceiver, tmp_path: Path, made: Any, **changes: Any) -> dict[str, Any]:
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert(**changes))
        (request,) = await receiver.wait_for(1)
        await async_wait_until(lambda: sink.stats().delivered == 1, 10, "delivered")
    assert request.method == "POST" and request.path == "/services/T0/B0/secret"
    assert request.headers["content-type"] == "application/json"
    body: dict[str, Any] = request.json()
    return body


async def test_basic_message_has_butlers_shape(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = slack_config(http_receiver.url, channel="#qlik", reload_failed={"message_type": "basic"})
    body = await post_one(http_receiver, tmp_path, made)
    text = 'Qlik Sense reload failed: "Reload of Sales"'
    assert body["text"] == text
    assert body["username"] == "Qlik Sense" and body["icon_emoji"] == ":ghost:" and body["channel"] == "#qlik"
    header, divider, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": text}}
    assert divider == {"type": "divider"}
    assert [(b["text"]["text"], b["url"], b["style"]) for b in actions["elements"]] == [
        ("Open QMC", "https://qlik.lab.example.com/qmc", "primary"),
        ("Open Hub", "https://qlik.lab.example.com/hub", "primary"),
    ]


async def test_basic_message_says_what_is_missing(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = slack_config(
        http_receiver.url,
        reload_failed={"message_type": "basic", "basic_template": "{{taskName}} on {{user}}"},
    )
    body = await post_one(http_receiver, tmp_path, made, script_log=None, missing=("script log",))
    assert body["text"] == "Reload of Sales on LAB/goran"  # Slack's user form
    assert {"type": "context", "elements": [{"type": "mrkdwn", "text": "script log unavailable"}]} in body[
        "blocks"
    ]


async def test_formatted_with_sensebutlers_template(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = slack_config(http_receiver.url, reload_aborted={"rate_limit_s": 0})
    body = await post_one(http_receiver, tmp_path, made, script_log=TRICKY_LOG)
    assert body["username"] == "Qlik Sense"
    assert body["text"] == "Reload failed: Reload of Sales"
    texts = [block.get("text", {}).get("text", "") for block in body["blocks"]]
    fields = [field["text"] for block in body["blocks"] for field in block.get("fields", [])]
    assert (
        "*App*\n<https://qlik.lab.example.com/sense/app/" + samples.APP_ID + "|Sales &amp; &lt;Marketing&gt;>"
        in fields
    )
    (tail,) = [text for text in texts if text.startswith("*Script log")]
    assert tail.startswith("*Script log: the last 10 of 800 lines*\n```")
    assert (
        '0399 LOAD "Sales" FROM [lib://Data\\sales.qvd] (qvd); // it\'s `odd` &amp; &lt;b&gt;\n\tdone```'
        in tail
    )
    assert len(tail) < 3000  # Slack's limit for a text


@pytest.mark.parametrize("event", ["failed", "aborted"])
async def test_butlers_templates_render_to_valid_block_kit(
    http_receiver: HttpReceiver, tmp_path: Path, event: str
) -> None:
    template = COMPAT_TEMPLATES / "slack" / f"{event}-reload-qseow.handlebars"
    if not template.is_file():
        pytest.skip(f"Butler's Slack templates are not at {template.parent} (shared/compat is absent)")
    made = config(
        alerts={
            "qlik_urls": {"qmc": "https://q/qmc", "hub": "https://q/hub", "app_base": "https://q/sense/app"},
            "generic_urls": [{"id": "butler_docs", "link_text": "Docs", "url": "https://docs.example.com"}],
        },
        slack={
            "enable": True,
            "webhook_url": f"{http_receiver.url}/services/T0/B0/secret",
            f"reload_{event}": {"template": str(template)},
        },
    )
    body = await post_one(http_receiver, tmp_path, made, outcome=event, script_log=TRICKY_LOG)
    flat = repr(body)
    assert "Reload of Sales" in flat and samples.TASK_ID in flat
    (actions,) = [block for block in body["blocks"] if block["type"] == "actions"]
    assert [e["url"] for e in actions["elements"]][-1] == "https://docs.example.com"
    assert "--}}" not in flat  # the commented-out #if of Butler's template stays out
    if event == "aborted":
        return  # Butler's aborted template shows no script log
    texts = [block["text"]["text"] for block in body["blocks"] if "text" in block]
    (tail,) = [text for text in texts if "0399 LOAD" in text]
    assert '0399 LOAD "Sales" FROM [lib://Data\\sales.qvd] (qvd); // it\'s `odd` & <b>\n\tdone```' in tail


async def test_a_template_that_gives_no_json_falls_back_to_the_basic_message(
    http_receiver: HttpReceiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.handlebars"
    broken.write_text('{"blocks": [ {{taskName}} ]}', encoding="utf-8")
    made = slack_config(http_receiver.url, reload_failed={"template": str(broken)})
    with caplog.at_level(logging.ERROR):
        async with running(made, tmp_path, build) as sink:
            assert isinstance(sink, SlackSink)
            sink.submit(alert())
            (request,) = await http_receiver.wait_for(1)
            assert sink.templates.fallbacks == 1
    assert request.json()["text"] == 'Qlik Sense reload failed: "Reload of Sales"'
    assert "did not give valid JSON" in caplog.text and "basic message" in caplog.text


async def test_event_url_and_channel_override_the_sections(
    http_receiver: HttpReceiver, tmp_path: Path
) -> None:
    made = slack_config(
        http_receiver.url,
        channel="#all",
        reload_aborted={
            "webhook_url": f"{http_receiver.url}/aborted",
            "channel": "#aborted",
            "rate_limit_s": 0,
        },
    )
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert("aborted"))
        sink.submit(alert("failed"))
        await http_receiver.wait_for(2)
    got = sorted((r.path, r.json()["channel"]) for r in http_receiver.requests)
    assert got == [("/aborted", "#aborted"), ("/services/T0/B0/secret", "#all")]


def test_startup_refuses_a_template_with_a_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.handlebars"
    bad.write_text('{\n  "text": "{{#if taskName}}{{/each}}"\n}\n', encoding="utf-8")
    made = slack_config("https://hooks.example.com", reload_failed={"template": str(bad)})
    with pytest.raises(StartupError, match=r"bad\.handlebars: line 2"):
        build(Runtime(made, Router(), tmp_path))
    with pytest.raises(StartupError, match=r"no_such\.handlebars"):
        build(
            Runtime(
                slack_config("https://h.example.com", reload_failed={"template": "no_such.handlebars"}),
                Router(),
                tmp_path,
            )
        )
    with pytest.raises(ValueError, match="no webhook_url for reload_failed"):
        config(slack={"enable": True})
