"""Slack and Teams messages from Handlebars templates that give JSON (butler.md §7.4, §8.2, §8.3).

A chat template writes context values into JSON strings (``"text": "{{taskName}}"``), so every
string of the context is made safe there first: JSON-escaped (backslash, control characters), and
``"``, ``'`` and `````` written as ``\\u0022``, ``\\u0027``, ``\\u0060``. Handlebars' HTML escaping of
``{{...}}`` then has only ``&``, ``<`` and ``>`` left to change, which keeps the JSON valid (Butler's
own behaviour for those) — and ``&amp;``, ``&lt;``, ``&gt;`` is exactly what Slack expects in text.
The script log head and tail and ``executionDetailsConcatenated`` come escaped and cut to Slack's
and Teams' 3,000 characters from :func:`~sensebutler.alerts.context.template_context`.

Every template is compiled when the sink is built (an error stops startup naming the file and
line). A formatted message whose template fails to render or does not give a JSON object is sent as
the basic message instead, and the reason is logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import orjson

from sensebutler.alerts.context import (
    ContextOptions,
    license_context,
    service_context,
    template_context,
)
from sensebutler.alerts.templates import TemplateError, TemplateSet, default_template
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicenseAlert, ServiceStateChanged
from sensebutler.logs import RateLimitedLog
from sensebutler.sinks.chat.config import ChatEventBlock, ChatSection

log = logging.getLogger(__name__)

Chat = Literal["slack", "teams"]

DEFAULT_BASIC = {
    "reload-failed": 'Qlik Sense reload failed: "{{{taskName}}}"',
    "reload-aborted": 'Qlik Sense reload aborted: "{{{taskName}}}"',
    "service-stopped": 'Service stopped on host {{{host}}}: "{{{serviceDisplayName}}}"',
    "service-started": 'Service started on host {{{host}}}: "{{{serviceDisplayName}}}"',
    "server-license-alert": "{{{message}}}",
}
#: context fields that template_context(chat=...) has already escaped and cut
ESCAPED_FIELDS = frozenset({"scriptLogHead", "scriptLogTail", "executionDetailsConcatenated"})

_ESCAPE_OR_QUOTE = re.compile(r'\\\\|\\"')
_QUOTES = str.maketrans({"'": "\\u0027", "`": "\\u0060"})


def requote(escaped: str) -> str:
    """JSON-escaped text with its quotes as ``\\u0022``/``\\u0027``/``\\u0060`` (see module doc)."""
    text = _ESCAPE_OR_QUOTE.sub(
        lambda found: "\\u0022" if found.group(0) == '\\"' else found.group(0), escaped
    )
    return text.translate(_QUOTES)


def json_text(text: str) -> str:
    """``text`` as the inside of a JSON string that Handlebars' escaping cannot break."""
    return requote(json.dumps(text, ensure_ascii=False)[1:-1])


def _json_ready(value: Any) -> Any:
    if isinstance(value, str):
        return json_text(value)
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    return value


def chat_context(
    alert: ReloadAlert, options: ContextOptions, block: ChatEventBlock, chat: Chat
) -> dict[str, Any]:
    """Butler's template fields, every string safe inside a JSON string of a chat template."""
    context = template_context(
        alert, options, head_lines=block.head_lines, tail_lines=block.tail_lines, chat=chat
    )
    return {
        key: requote(value) if key in ESCAPED_FIELDS and isinstance(value, str) else _json_ready(value)
        for key, value in context.items()
    }


def text_context(alert: ReloadAlert, options: ContextOptions, block: ChatEventBlock) -> dict[str, Any]:
    """The context of a basic message (plain text, put into JSON by the payload): user ``DIR/user``."""
    context = template_context(alert, options, head_lines=block.head_lines, tail_lines=block.tail_lines)
    context["user"] = str(context["user"]).replace("\\", "/")
    return context


def service_chat_context(change: ServiceStateChanged, options: ContextOptions) -> dict[str, Any]:
    """The service monitor's template fields, every string safe inside a JSON string."""
    return {key: _json_ready(value) for key, value in service_context(change, options).items()}


def license_chat_context(alert: ServerLicenseAlert, options: ContextOptions) -> dict[str, Any]:
    """The server licence alert's template fields, every string safe inside a JSON string."""
    return {key: _json_ready(value) for key, value in license_context(alert, options).items()}


class ChatTemplates:
    """The basic and formatted templates of every event a chat section enables, compiled."""

    def __init__(self, chat: Chat, section: ChatSection) -> None:
        """Compiles everything; :class:`TemplateError` names the key or file and the line."""
        self.chat = chat
        self.templates = TemplateSet()
        #: formatted messages sent as basic ones because the template failed
        self.fallbacks = 0
        self._log = RateLimitedLog(log, 60.0)
        for event in section.enabled_events():
            block = section.chat_block(event)
            if block is None:
                continue
            key = f"{chat}.{event.replace('-', '_')}"
            basic = block.basic_template or DEFAULT_BASIC.get(event, "Qlik Sense task alert: {{{taskName}}}")
            self.templates.compile_text(f"{event}.basic", basic, source=f"{key}.basic_template")
            if block.message_type == "formatted":
                path: str | Path | None = block.template or default_template(chat, event)
                if path is None:
                    raise TemplateError(
                        f"{key}: sensebutler has no {chat} template for {event}; set template"
                    )
                self._compile_file(Path(path), f"{event}.formatted")

    def _compile_file(self, path: Path, name: str) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"template {path}: cannot read it: {exc}") from exc
        self.templates.compile_text(name, text, source=str(path))

    def basic_text(self, event: str, context: Mapping[str, Any]) -> str:
        return self.templates.render(f"{event}.basic", context)

    def monitor_message(
        self,
        event: str,
        formatted: bool,
        contexts: tuple[Mapping[str, Any], Mapping[str, Any]],
        basic: Callable[[str], dict[str, Any]],
    ) -> dict[str, Any]:
        """A monitor alert's message: the formatted template's JSON when ``formatted`` (contexts:
        the JSON-safe one for it, the plain one for the basic text), else ``basic`` of the basic text."""
        chat, text = contexts
        message = self.formatted(event, chat) if formatted else None
        return message if message is not None else basic(self.basic_text(event, text))

    def formatted(self, event: str, context: Mapping[str, Any]) -> dict[str, Any] | None:
        """The parsed message, or None (logged, counted) when the basic message must go instead."""
        name = f"{event}.formatted"
        failures = self.templates.render_failures
        rendered = self.templates.render(name, context, fallback=lambda _: "")
        if self.templates.render_failures != failures:
            reason = "it failed to render"
        else:
            try:
                parsed = orjson.loads(rendered)
            except orjson.JSONDecodeError as exc:
                reason = f"it did not give valid JSON: {exc}"
            else:
                if isinstance(parsed, dict):
                    return parsed
                reason = f"it gave a JSON {type(parsed).__name__}, not an object"
        self.fallbacks += 1
        self._log.log(
            logging.ERROR,
            name,
            "%s: the %s template cannot be used (%s); sending the basic message instead",
            self.chat,
            event,
            reason,
        )
        return None


__all__ = [
    "DEFAULT_BASIC",
    "ChatTemplates",
    "chat_context",
    "json_text",
    "license_chat_context",
    "requote",
    "service_chat_context",
    "text_context",
]
