"""Chat template contexts: any text stays valid JSON through Handlebars, Butler's comments are gone."""

from __future__ import annotations

import json
import string

from hypothesis import given
from hypothesis import strategies as st

from sensebutler.alerts.context import ContextOptions
from sensebutler.alerts.script_log import chat_safe
from sensebutler.alerts.templates import TemplateSet, without_block_comments
from sensebutler.sinks.chat.config import ChatEventBlock
from sensebutler.sinks.chat.templates import chat_context, json_text, requote
from tests.sinks.alert_channels import alert

NASTY = st.text(
    alphabet=st.sampled_from([*string.printable, "\\", '"', "'", "`", "é", "\u2028", "\x00", "😀"])
)
TEMPLATE = TemplateSet()
TEMPLATE.compile_text("pair", '{"escaped": "{{x}}", "raw": "{{{x}}}"}')


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@given(NASTY)
def test_any_text_survives_both_kinds_of_handlebars_expression(text: str) -> None:
    made = json.loads(TEMPLATE.render("pair", {"x": json_text(text)}))
    assert made == {"escaped": html(text), "raw": text}


@given(NASTY, st.sampled_from(["head", "tail"]), st.booleans())
def test_escaped_script_log_fields_stay_valid_json(text: str, keep: str, teams: bool) -> None:
    made = json.loads(TEMPLATE.render("pair", {"x": requote(chat_safe(text, keep, teams))}))  # type: ignore[arg-type]
    if len(text) < 500 and "\\" not in text:
        assert made["raw"] == text.replace("\r", "")


def test_every_string_of_the_context_is_made_safe() -> None:
    nasty = alert(script_log='a "quoted" \\ line\r\n')
    context = chat_context(nasty, ContextOptions(), ChatEventBlock(), "slack")
    assert context["scriptLogTail"] == "a \\u0022quoted\\u0022 \\\\ line"
    assert context["appName"] == "Sales & <Marketing>"  # Handlebars escapes those
    assert context["user"] == "LAB/goran"
    assert context["taskIsManuallyTriggered"]  # booleans and numbers stay what they are
    assert context["executionDuration"]["hours"] == 1


def test_block_comments_go_and_lines_stay() -> None:
    text = 'a\n{{!-- {{#if (eq id "x")}} --}}\nb {{!-- two\nlines --}} c\n{{! short }}'
    assert without_block_comments(text) == "a\n\nb \n c\n{{! short }}"
