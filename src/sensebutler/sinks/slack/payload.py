"""A reload alert as the JSON body of a Slack incoming-webhook call (butler.md §8.2).

* basic: the rendered one-line text as a ``header`` block, a ``divider`` and an ``actions`` block
  with "Open QMC" and "Open Hub" buttons (Butler's shape); ``text`` carries the line for
  notifications. Buttons without a configured URL are left out (Slack refuses empty URLs), and what
  could not be fetched from QRS is said in a ``context`` block.
* formatted: the template's JSON object (Block Kit ``blocks``), as the template made it.

Both get ``username``, ``channel`` and ``icon_emoji`` when configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from sensebutler.alerts.context import ContextOptions, missing_text
from sensebutler.events.alerts import ReloadAlert
from sensebutler.sinks.chat.templates import (
    ChatTemplates,
    chat_context,
    text_context,
)
from sensebutler.sinks.slack.config import SlackEventBlock, SlackSection

#: Slack's limit for a header block's text
HEADER_LIMIT = 150


def _button(text: str, url: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "emoji": True, "text": text},
        "style": "primary",
        "url": url,
    }


def basic_message(text: str, options: ContextOptions, missing: tuple[str, ...] = ()) -> dict[str, Any]:
    header = text if len(text) <= HEADER_LIMIT else text[: HEADER_LIMIT - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        {"type": "divider"},
    ]
    if missing:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": missing_text(missing)}]})
    buttons = [
        _button(label, url)
        for label, url in (("Open QMC", options.qmc_url), ("Open Hub", options.hub_url))
        if url
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": text, "blocks": blocks}


def slack_body(
    alert: ReloadAlert,
    event: str,
    block: SlackEventBlock,
    section: SlackSection,
    templates: ChatTemplates,
    options: ContextOptions,
) -> bytes:
    message: dict[str, Any] | None = None
    if block.message_type == "formatted":
        message = templates.formatted(event, chat_context(alert, options, block, "slack"))
    if message is None:
        text = templates.basic_text(event, text_context(alert, options, block))
        message = basic_message(text, options, alert.missing)
    return _with_extras(message, block, section)


def slack_monitor_body(
    event: str,
    contexts: tuple[Mapping[str, Any], Mapping[str, Any]],
    block: SlackEventBlock,
    section: SlackSection,
    templates: ChatTemplates,
    options: ContextOptions,
) -> bytes:
    """A service or licence alert: ``contexts`` for the formatted template and for the basic text."""
    formatted = block.message_type == "formatted"
    message = templates.monitor_message(event, formatted, contexts, lambda text: basic_message(text, options))
    return _with_extras(message, block, section)


def _with_extras(message: dict[str, Any], block: SlackEventBlock, section: SlackSection) -> bytes:
    extras = {
        "username": section.username,
        "channel": block.channel or section.channel,
        "icon_emoji": section.icon_emoji,
    }
    message.update({key: value for key, value in extras.items() if value})
    return orjson.dumps(message)


__all__ = ["basic_message", "slack_body", "slack_monitor_body"]
