"""Teams against a real local HTTP receiver: the basic MessageCard and adaptive-card messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sensebutler.sinks.teams.sink import build
from tests.alerts import samples
from tests.fixtures.servers import HttpReceiver
from tests.sinks.alert_channels import COMPAT_TEMPLATES, alert, config, running
from tests.sinks.slack.test_sink import TRICKY_LOG

ADAPTIVE = "application/vnd.microsoft.card.adaptive"


def teams_config(url: str, **section: Any) -> Any:
    return config(teams={"enable": True, "webhook_url": f"{url}/workflows/run?sig=secret", **section})


async def post_one(receiver: HttpReceiver, tmp_path: Path, made: Any, **changes: Any) -> dict[str, Any]:
    async with running(made, tmp_path, build) as sink:
        sink.submit(alert(**changes))
        (request,) = await receiver.wait_for(1)
    assert (
        request.method == "POST" and request.path == "/workflows/run" and request.query == {"sig": "secret"}
    )
    body: dict[str, Any] = request.json()
    return body


async def test_basic_is_butlers_message_card(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = teams_config(http_receiver.url, reload_failed={"message_type": "basic"})
    body = await post_one(http_receiver, tmp_path, made, owner=None, missing=("app owner",))
    text = 'Qlik Sense reload failed: "Reload of Sales"'
    assert body == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": "0078D7",
        "title": text,
        "summary": text,
        "text": "app owner unavailable",
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": "Qlik Sense QMC",
                "targets": [{"os": "default", "uri": "https://qlik.lab.example.com/qmc"}],
            },
            {
                "@type": "OpenUri",
                "name": "Qlik Sense Hub",
                "targets": [{"os": "default", "uri": "https://qlik.lab.example.com/hub"}],
            },
        ],
    }


async def test_formatted_with_sensebutlers_adaptive_card(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    body = await post_one(http_receiver, tmp_path, teams_config(http_receiver.url), script_log=TRICKY_LOG)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["msteams"] == {"width": "Full"}
    texts = [item.get("text", "") for item in card["body"]]
    assert texts[0] == "Reload failed: Reload of Sales"
    facts = {fact["title"]: fact["value"] for item in card["body"] for fact in item.get("facts", [])}
    assert facts["App"] == "Sales & <Marketing>"
    # Teams reads the text as Markdown: backslashes of the log come doubled (butler.md §7.4)
    assert any('0399 LOAD "Sales" FROM [lib://Data\\\\sales.qvd]' in text for text in texts)
    (actions,) = [item for item in card["body"] if item["type"] == "ActionSet"]
    assert [a["url"] for a in actions["actions"]] == [
        "https://qlik.lab.example.com/qmc",
        "https://qlik.lab.example.com/hub",
        f"https://qlik.lab.example.com/sense/app/{samples.APP_ID}",
    ]


async def test_without_site_urls_the_card_has_no_buttons(http_receiver: HttpReceiver, tmp_path: Path) -> None:
    made = config(
        alerts={}, teams={"enable": True, "webhook_url": f"{http_receiver.url}/workflows/run?sig=secret"}
    )
    body = await post_one(http_receiver, tmp_path, made)
    card = body["attachments"][0]["content"]
    assert [item for item in card["body"] if item["type"] == "ActionSet"] == []


@pytest.mark.parametrize("event", ["failed", "aborted"])
async def test_butlers_templates_render_to_a_valid_message(
    http_receiver: HttpReceiver, tmp_path: Path, event: str
) -> None:
    template = COMPAT_TEMPLATES / "teams" / f"{event}-reload-qseow.handlebars"
    if not template.is_file():
        pytest.skip(f"Butler's Teams templates are not at {template.parent} (shared/compat is absent)")
    made = config(
        alerts={
            "qlik_urls": {"qmc": "https://q/qmc", "hub": "https://q/hub", "app_base": "https://q/sense/app"},
            "generic_urls": [
                {"id": "butler_docs", "link_text": "Docs", "comment": 'Say "hi"', "url": "https://d"}
            ],
        },
        teams={
            "enable": True,
            "webhook_url": f"{http_receiver.url}/workflows/run?sig=secret",
            f"reload_{event}": {"template": str(template)},
        },
    )
    body = await post_one(http_receiver, tmp_path, made, outcome=event, script_log=TRICKY_LOG)
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == ADAPTIVE
    card = attachment["content"]
    facts = {f["title"]: f["value"] for item in card["body"] for f in item.get("facts", [])}
    assert facts["Task name:"] == "Reload of Sales"
    assert facts["App name:"] == "Sales &amp; &lt;Marketing&gt;"  # {{...}} HTML-escapes, as in Butler
    (action_set,) = [item for item in card["body"] if item["type"] == "ActionSet"]
    assert action_set["actions"][-1] == {
        "type": "Action.OpenUrl",
        "title": "Docs",
        "tooltip": 'Say "hi"',  # quotes survive as quotes, not as &quot;
        "url": "https://d",
        "role": "button",
    }
