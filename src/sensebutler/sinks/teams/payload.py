"""A reload alert as the JSON body of a Teams webhook call (butler.md §8.3).

* basic: a legacy ``MessageCard`` (Butler's shape): theme colour ``0078D7``, the rendered one-line
  text as title and summary, ``OpenUri`` actions "Qlik Sense QMC" and "Qlik Sense Hub" (each only
  when its URL is configured), and a ``text`` saying what could not be fetched from QRS, if anything.
* formatted: the template's JSON object, sent as it is: for a Workflows webhook a ``message`` whose
  attachment is an adaptive card (``application/vnd.microsoft.card.adaptive``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from sensebutler.alerts.context import ContextOptions, missing_text
from sensebutler.events.alerts import ReloadAlert
from sensebutler.sinks.chat.config import ChatEventBlock
from sensebutler.sinks.chat.templates import (
    ChatTemplates,
    chat_context,
    text_context,
)

THEME_COLOUR = "0078D7"


def basic_card(text: str, options: ContextOptions, missing: tuple[str, ...] = ()) -> dict[str, Any]:
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": THEME_COLOUR,
        "title": text,
        "summary": text,
    }
    if missing:
        card["text"] = missing_text(missing)
    actions = [
        {"@type": "OpenUri", "name": name, "targets": [{"os": "default", "uri": url}]}
        for name, url in (("Qlik Sense QMC", options.qmc_url), ("Qlik Sense Hub", options.hub_url))
        if url
    ]
    if actions:
        card["potentialAction"] = actions
    return card


def teams_body(
    alert: ReloadAlert, event: str, block: ChatEventBlock, templates: ChatTemplates, options: ContextOptions
) -> bytes:
    message: dict[str, Any] | None = None
    if block.message_type == "formatted":
        message = templates.formatted(event, chat_context(alert, options, block, "teams"))
    if message is None:
        message = basic_card(
            templates.basic_text(event, text_context(alert, options, block)), options, alert.missing
        )
    return orjson.dumps(message)


def teams_monitor_body(
    event: str,
    contexts: tuple[Mapping[str, Any], Mapping[str, Any]],
    block: ChatEventBlock,
    templates: ChatTemplates,
    options: ContextOptions,
) -> bytes:
    """A service or licence alert: ``contexts`` for the formatted template and for the basic text."""
    formatted = block.message_type == "formatted"
    message = templates.monitor_message(event, formatted, contexts, lambda text: basic_card(text, options))
    return orjson.dumps(message)


__all__ = ["THEME_COLOUR", "basic_card", "teams_body", "teams_monitor_body"]
