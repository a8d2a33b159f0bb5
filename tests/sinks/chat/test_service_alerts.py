"""Service alerts to Slack and Teams, against a real local HTTP receiver."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sensebutler.runtime import Runtime
from sensebutler.sinks.base import Sink
from sensebutler.sinks.slack.sink import build as build_slack
from sensebutler.sinks.teams.sink import build as build_teams
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver
from tests.sinks.alert_channels import COMPAT_TEMPLATES, SERVICE_HOST, config, running, service_change

WAIT_S = 30.0
BUILDERS: dict[str, Callable[[Runtime], list[Sink]]] = {"slack": build_slack, "teams": build_teams}
#: a display name that needs escaping inside a JSON string
TRICKY = 'Qlik "Proxy" \\ <Service> & it\'s'


def strings(value: Any) -> list[str]:
    """Every string in a parsed JSON message."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


RUNBOOK = {"id": "butler_docs", "link_text": "Runbook", "url": "https://wiki.example.com/qs"}
#: Butler's Teams service templates list two generic URLs by id and give JSON only when both exist
BUTLERS_URLS = [RUNBOOK, {"id": "ptarmiganlabs_com", "link_text": "Vendor", "url": "https://v.example.com"}]


def chat_config(chat: str, receiver: HttpReceiver, generic_urls: Any = (RUNBOOK,), **blocks: Any) -> Any:
    return config(
        alerts={
            "qlik_urls": {"qmc": "https://q/qmc", "hub": "https://q/hub"},
            "generic_urls": list(generic_urls),
        },
        **{chat: {"enable": True, "webhook_url": f"{receiver.url}/hook/secret", **blocks}},
    )


async def post_one(
    chat: str, receiver: HttpReceiver, tmp_path: Path, made: Any, change: Any
) -> dict[str, Any]:
    async with running(made, tmp_path, BUILDERS[chat]) as sink:
        sink.submit(change)
        (request,) = await receiver.wait_for(1, timeout=WAIT_S)
        await async_wait_until(lambda: sink.stats().delivered == 1, WAIT_S, "delivered")
        assert sink.templates.fallbacks == 0
    body: dict[str, Any] = request.json()
    return body


@pytest.mark.parametrize("chat", ["slack", "teams"])
@pytest.mark.parametrize("event", ["stopped", "started"])
async def test_sensebutlers_templates_give_valid_messages(
    http_receiver: HttpReceiver, tmp_path: Path, chat: str, event: str
) -> None:
    state, previous = ("STOPPED", "RUNNING") if event == "stopped" else ("RUNNING", "STOPPED")
    made = chat_config(chat, http_receiver, **{f"service_{event}": {}})
    body = await post_one(
        chat, http_receiver, tmp_path, made, service_change(state, previous, display_name=TRICKY)
    )
    flat = repr(body)
    assert SERVICE_HOST in flat and "QlikSenseProxyService" in flat
    # the display name arrives whole: quotes and backslash kept, & < > as HTML entities
    whole = 'Qlik "Proxy" \\ &lt;Service&gt; &amp; it\'s'
    assert any(whole in text for text in strings(body))
    assert "https://wiki.example.com/qs" in flat
    if chat == "slack":
        assert body["username"] == "Qlik Sense"
        assert body["blocks"][0]["text"]["text"].endswith(
            "Service stopped" if event == "stopped" else "running again"
        )
    else:
        assert body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"


@pytest.mark.parametrize("chat", ["slack", "teams"])
async def test_basic_message(http_receiver: HttpReceiver, tmp_path: Path, chat: str) -> None:
    made = chat_config(chat, http_receiver, service_stopped={"message_type": "basic"})
    body = await post_one(chat, http_receiver, tmp_path, made, service_change("STOPPED", "RUNNING"))
    text = f'Service stopped on host {SERVICE_HOST}: "Qlik Sense Proxy Service"'
    if chat == "slack":
        assert body["text"] == text and body["blocks"][0]["text"]["text"] == text
    else:
        assert body["@type"] == "MessageCard" and body["title"] == text


@pytest.mark.parametrize("chat", ["slack", "teams"])
@pytest.mark.parametrize("event", ["stopped", "started"])
async def test_butlers_service_templates_render_to_json(
    http_receiver: HttpReceiver, tmp_path: Path, chat: str, event: str
) -> None:
    template = COMPAT_TEMPLATES / chat / f"service-{event}.handlebars"
    if not template.is_file():
        pytest.skip(f"Butler's {chat} templates are not at {template.parent} (shared/compat is absent)")
    state, previous = ("STOPPED", "RUNNING") if event == "stopped" else ("RUNNING", "STOPPED")
    made = chat_config(
        chat, http_receiver, generic_urls=BUTLERS_URLS, **{f"service_{event}": {"template": str(template)}}
    )
    body = await post_one(
        chat, http_receiver, tmp_path, made, service_change(state, previous, display_name=TRICKY)
    )
    flat = repr(body)
    assert SERVICE_HOST in flat and state in flat
    assert any('Qlik "Proxy" \\ &lt;Service&gt; &amp; it\'s' in text for text in strings(body))
    assert "--}}" not in flat
    if chat == "teams":
        card = body["attachments"][0]["content"]
        facts = {f["title"]: f["value"] for item in card["body"] for f in item.get("facts", [])}
        assert (facts["Host:"], facts["Status:"], facts["Previous status:"]) == (
            SERVICE_HOST,
            state,
            previous,
        )


@pytest.mark.parametrize("chat", ["slack", "teams"])
async def test_stopped_and_started_have_their_own_rate_limits(
    http_receiver: HttpReceiver, tmp_path: Path, chat: str
) -> None:
    made = chat_config(chat, http_receiver, service_stopped={}, service_started={})
    async with running(made, tmp_path, BUILDERS[chat]) as sink:
        sink.submit(service_change("STOPPED", "RUNNING"))
        await http_receiver.wait_for(1, timeout=WAIT_S)
        sink.submit(service_change("RUNNING", "STOPPED"))
        await http_receiver.wait_for(2, timeout=WAIT_S)
        sink.submit(service_change("STOPPED", "RUNNING"))
        await async_wait_until(lambda: sink.stats().dropped["rate_limited"] == 1, WAIT_S, "one limited")
        await async_wait_until(lambda: sink.stats().delivered == 2, WAIT_S, "two delivered")
    assert len(http_receiver.requests) == 2
