"""Templates: compile errors name file and line; render errors fall back to a plain message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sensebutler.alerts.event_names import ALL_EVENTS
from sensebutler.alerts.templates import TEMPLATES_DIR, TemplateError, TemplateSet, default_template


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.handlebars"
    path.write_text("<p>\n{{#if taskName}}\n{{/each}}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"broken\.handlebars: line 3"):
        TemplateSet().compile_file(path)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"missing\.handlebars: cannot read"):
        TemplateSet().compile_file(tmp_path / "missing.handlebars")


def test_eq_helper() -> None:
    templates = TemplateSet()
    templates.compile_text("t", '{{#each genericUrls}}{{#if (eq id "docs")}}{{url}}{{/if}}{{/each}}')
    context = {"genericUrls": [{"id": "docs", "url": "D"}, {"id": "other", "url": "O"}]}
    assert templates.render("t", context) == "D"


def test_a_render_failure_logs_and_sends_a_plain_message(caplog: pytest.LogCaptureFixture) -> None:
    templates = TemplateSet()
    templates.compile_text("t", "{{nosuchhelper taskName}}")
    with caplog.at_level(logging.ERROR):
        text = templates.render("t", {"taskName": "Reload of Sales", "missingText": "script log unavailable"})
    assert "Task: Reload of Sales" in text and "Missing: script log unavailable" in text
    assert templates.render_failures == 1
    assert "failed to render" in caplog.text


def test_the_shipped_templates_compile() -> None:
    found = sorted(TEMPLATES_DIR.rglob("*.handlebars"))
    assert found, "no default templates shipped"
    templates = TemplateSet()
    for path in found:
        templates.compile_file(path)
    for event in (
        "reload-failed",
        "reload-aborted",
        "reload-success",
        "distribute-failed",
        "preload-success",
    ):
        assert event in ALL_EVENTS
        assert default_template("email", event) is not None
        assert default_template("email", event, ".subject") is not None
    assert default_template("email", "user-sync-failed") is None
