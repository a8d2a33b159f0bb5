"""The template context: Butler's field names and formats, and what is missing."""

from __future__ import annotations

import dataclasses
import zoneinfo
from pathlib import Path

import pytest

from sensebutler.alerts.config import GenericUrl
from sensebutler.alerts.context import ContextOptions, local_formats, template_context
from sensebutler.alerts.templates import TemplateSet
from tests.alerts.samples import APP_ID, SCRIPT_LOG, TASK_ID, alert

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
OPTIONS = ContextOptions(
    qmc_url="https://sense.example.com/qmc",
    hub_url="https://sense.example.com/hub",
    app_base_url="https://sense.example.com/sense/app/",
    generic_urls=(
        GenericUrl(id="butler_docs", link_text="Docs", comment="c", url="https://docs.example.com"),
    ),
    time_zone=STOCKHOLM,
)
COMPAT = Path(__file__).resolve().parents[2] / ".." / "shared" / "compat" / "butler" / "templates"

# every field of butler.md §7.3
BUTLER_FIELDS = [
    "hostName",
    "user",
    "taskName",
    "taskId",
    "taskCustomProperties",
    "taskTags",
    "taskIsManuallyTriggered",
    "taskIsPartialReload",
    "taskMaxRetries",
    "taskModifiedByUsername",
    "taskModifiedDate",
    "taskSessionTimeout",
    "taskNextExecution",
    "appName",
    "appId",
    "appUrl",
    "appDescription",
    "appFileSize",
    "appLastSuccessfulReload",
    "appLastModifiedDate",
    "appLastModifiedByUserName",
    "appPublishTime",
    "appPublished",
    "appStreamName",
    "appCustomProperties",
    "appTags",
    "logTimeStamp",
    "logLevel",
    "logMessage",
    "executingNodeName",
    "executionDuration",
    "executionStartTime",
    "executionStopTime",
    "executionStatusNum",
    "executionStatusText",
    "executionDetails",
    "executionDetailsConcatenated",
    "scriptLogSize",
    "scriptLogSizeRows",
    "scriptLogSizeCharacters",
    "scriptLogHead",
    "scriptLogTail",
    "scriptLogHeadCount",
    "scriptLogTailCount",
    "qlikSenseQMC",
    "qlikSenseHub",
    "genericUrls",
    "appOwnerName",
    "appOwnerUserId",
    "appOwnerUserDirectory",
    "appOwnerEmail",
]


def test_every_butler_field_is_there_with_butler_values() -> None:
    context = template_context(alert(), OPTIONS, head_lines=15, tail_lines=10)
    assert set(BUTLER_FIELDS) <= set(context)
    assert context["appUrl"] == f"https://sense.example.com/sense/app/{APP_ID}"
    assert (context["taskId"], context["user"], context["hostName"]) == (TASK_ID, "LAB\\goran", "QLIKSERVER1")
    assert context["executionDuration"] == {"hours": 1, "minutes": 2, "seconds": 8}
    assert context["executionStatusText"] == "FinishedFail"
    assert context["taskNextExecution"] == "Never"
    assert context["appPublishTime"] == "-"
    assert context["executionStartTime"]["startTimeUTC"] == "2024-01-05T10:20:03.112Z"
    assert context["executionStartTime"]["startTimeLocal1"] == "2024-01-05 11:20:03"
    assert [d["message"] for d in context["executionDetails"]] == [
        "Changing task state to Triggered",
        "Changing task state from Started to FinishedFail",
    ]
    assert context["executionDetailsConcatenated"].splitlines()[0] == (
        "2024-01-05T10:20:03.020Z\tChanging task state to Triggered"
    )
    assert context["scriptLogHead"].split("\r\n") == SCRIPT_LOG.split("\r\n")[:15]
    assert context["scriptLogTail"].split("\r\n") == SCRIPT_LOG.split("\r\n")[-11:-1]
    assert (context["scriptLogHeadCount"], context["scriptLogTailCount"], context["scriptLogSizeRows"]) == (
        15,
        10,
        40,
    )
    assert context["appOwnerEmail"] == "anna@lab.example.com"
    assert context["genericUrls"] == [
        {"id": "butler_docs", "linkText": "Docs", "comment": "c", "url": "https://docs.example.com"}
    ]
    assert context["missing"] == [] and context["missingText"] == "" and context["scriptLogAvailable"]


def test_local_formats_follow_the_zone_and_null_dates_are_dashes() -> None:
    assert local_formats("2024-07-05T10:20:03.112Z", STOCKHOLM) == (
        "2024-07-05 12:20:03",
        "7/5/2024, 12:20:03 PM",
        "Jul 5, 2024, 12:20 PM",
        "July 5, 2024 at 12:20 PM CEST",
        "Friday, July 5, 2024 at 12:20:03 PM CEST",
    )
    assert local_formats("1753-01-01T00:00:00.000Z", STOCKHOLM) == ("-",) * 5
    assert local_formats("not a time", None) == ("-",) * 5


def test_what_could_not_be_fetched_is_named_and_the_rest_still_filled() -> None:
    lacking = alert(script_log=None, owner=None, app=None, missing=("script log", "app", "app owner"))
    context = template_context(lacking, OPTIONS, head_lines=5, tail_lines=5)
    assert context["missing"] == ["script log", "app", "app owner"]
    assert context["missingText"] == "script log unavailable; app unavailable; app owner unavailable"
    assert not context["scriptLogAvailable"]
    assert context["scriptLogHead"] == context["scriptLogTail"] == "Script log unavailable"
    assert (context["appOwnerEmail"], context["appDescription"], context["taskName"]) == (
        "",
        "",
        "Reload of Sales",
    )


def test_chat_fields_are_json_safe_and_users_use_a_slash() -> None:
    long_log = "".join(f'line {n}\twith "quotes" and C:\\path\r\n' for n in range(400))
    context = template_context(
        alert(script_log=long_log), OPTIONS, head_lines=300, tail_lines=300, chat="slack"
    )
    assert context["user"] == "LAB/goran"
    assert "\r" not in context["scriptLogHead"] and "\n" not in context["scriptLogHead"]
    assert len(context["scriptLogTail"]) < 3000 and "truncated" in context["scriptLogTail"]


def test_booleans_render_as_javascript_does() -> None:
    templates = TemplateSet()
    templates.compile_text(
        "t", "{{taskIsManuallyTriggered}} {{appPublished}} {{#if appPublished}}yes{{else}}no{{/if}}"
    )
    assert (
        templates.render("t", template_context(alert(), OPTIONS, head_lines=1, tail_lines=1))
        == "true false no"
    )


@pytest.mark.parametrize("folder", ["email", "slack", "teams"])
def test_butler_templates_render_unchanged(folder: str) -> None:
    if not COMPAT.is_dir():
        pytest.skip(f"Butler's templates are not at {COMPAT} (shared/compat is absent)")
    templates = TemplateSet()
    context = template_context(
        alert(), OPTIONS, head_lines=15, tail_lines=15, chat=None if folder == "email" else folder
    )
    for path in sorted((COMPAT / folder).glob("*-qseow.handlebars")):
        templates.compile_file(path)
        text = templates.render(str(path), context)
        assert templates.render_failures == 0, path
        assert "Reload of Sales" in text or "Sales &amp; &lt;Marketing&gt;" in text, path
    if folder == "email":
        text = templates.render(str(COMPAT / "email" / "failed-reload-qseow.handlebars"), context)
        assert (
            "line 40" in text
            and "Changing task state to Triggered" in text
            and "https://docs.example.com" in text
        )


def test_no_execution_gives_dashes_not_errors() -> None:
    context = template_context(
        alert(execution=None, task=None),
        dataclasses.replace(OPTIONS, app_base_url=""),
        head_lines=1,
        tail_lines=1,
    )
    assert context["executionStartTime"]["startTimeLocal3"] == "-"
    assert context["executionStatusText"] == "Unknown" and context["appUrl"] == ""
    assert context["taskNextExecution"] == "Never"
