"""Log-event categorisation rules (Butler SOS ``logEvents.categorise``)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from sensebutler.events.udp import LogEvent
from sensebutler.sources.udp import DROP, CategoriseConfig, Categoriser

RULES_YAML = """
enable: true
rules:
  - description: Access denied
    logLevel: [warn, Error]
    action: categorise
    category:
      - {name: qs_log_category, value: access-denied}
    filter:
      - {type: sw, value: "Access was denied for User:"}
      - {type: so, value: was denied for User}
  - description: User directory problems
    logLevel: [ERROR, WARN]
    action: categorise
    category:
      - {name: qs_log_category, value: user-directory}
      - {name: qs_team, value: identity}
    filter:
      - {type: sw, value: Duplicate entity with userId}
  - description: Service down
    logLevel: [WARN, ERROR]
    action: categorise
    category:
      - {name: qs_log_category, value: qs-service}
    filter:
      - {type: sw, value: Failed to request service alive response from}
      - {type: so, value: Unable to connect to the remote server}
  - description: Reload failed
    logLevel: [WARN, ERROR]
    action: categorise
    category:
      - {name: qs_log_category, value: reload-failed}
    filter:
      - {type: sw, value: Task finished with state FinishedFail}
      - {type: sw, value: Task finished with state Error}
      - {type: ew, value: Reload failed in Engine. Check engine or script logs.}
      - {type: sw, value: "Reload sequence was not successful (Result=False, Finished=True, Aborted=False)"}
  - description: Reload failed, tagged again by a second rule
    logLevel: [ERROR]
    action: categorise
    category:
      - {name: qs_log_category, value: reload-failed}
      - {name: severity, value: high}
    filter:
      - {type: so, value: Reload failed}
  - description: Noise nobody wants
    logLevel: [WARN]
    action: drop
    category:
    filter:
      - {type: sw, value: "Connection to the engine was lost"}
ruleDefault:
  enable: true
  category:
    - {name: qs_log_category, value: unknown}
"""


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def event(message: str, level: str = "ERROR") -> LogEvent:
    return LogEvent(source="scheduler", level=level, message=message)


@pytest.fixture
def categoriser() -> Categoriser:
    return Categoriser(CategoriseConfig.model_validate(load(RULES_YAML)))


@pytest.mark.parametrize(
    ("message", "level", "expected"),
    [
        ("Access was denied for User: 'ACME\\jdoe'", "WARN", (("qs_log_category", "access-denied"),)),
        ("Proxy: Access was denied for User: x", "error", (("qs_log_category", "access-denied"),)),
        ("Access was denied for User: x", "FATAL", (("qs_log_category", "unknown"),)),
        (
            "Duplicate entity with userId 'jdoe' in directory 'ACME'",
            "WARN",
            (("qs_log_category", "user-directory"), ("qs_team", "identity")),
        ),
        (
            "Failed to request service alive response from https://qs-prod-03:4899/",
            "ERROR",
            (("qs_log_category", "qs-service"),),
        ),
        ("Task finished with state FinishedFail", "WARN", (("qs_log_category", "reload-failed"),)),
        (
            "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
            "ERROR",
            (("qs_log_category", "reload-failed"), ("severity", "high")),
        ),
        (
            "Reload sequence was not successful (Result=False, Finished=True, Aborted=False) for engine connection "
            "with handle 12",
            "WARN",
            (("qs_log_category", "reload-failed"),),
        ),
        ("access was denied for user: case matters", "WARN", (("qs_log_category", "unknown"),)),
        ("Something else entirely", "ERROR", (("qs_log_category", "unknown"),)),
    ],
)
def test_rules(
    categoriser: Categoriser, message: str, level: str, expected: tuple[tuple[str, str], ...]
) -> None:
    assert categoriser.categorise(event(message, level)) == expected


def test_drop_really_drops(categoriser: Categoriser) -> None:
    noisy = event("Connection to the engine was lost; retrying", "WARN")
    assert categoriser.categorise(noisy) is DROP
    assert categoriser.apply(noisy) is False
    assert noisy.categories == ()
    # same text at another level does not match the drop rule
    kept = event("Connection to the engine was lost; retrying", "ERROR")
    assert categoriser.apply(kept) is True
    assert kept.categories == (("qs_log_category", "unknown"),)


def test_apply_sets_categories(categoriser: Categoriser) -> None:
    e = event("Task finished with state Error", "ERROR")
    assert categoriser.apply(e) is True
    assert e.categories == (("qs_log_category", "reload-failed"),)


def test_disabled_categorisation_gives_no_categories() -> None:
    config = CategoriseConfig.model_validate({**load(RULES_YAML), "enable": False})
    assert Categoriser(config).categorise(event("Task finished with state Error")) == ()


def test_default_category_can_be_switched_off() -> None:
    data = load(RULES_YAML)
    data["ruleDefault"]["enable"] = False
    assert Categoriser(CategoriseConfig.model_validate(data)).categorise(event("nothing matches")) == ()


def test_defaults_and_null_lists() -> None:
    config = CategoriseConfig.model_validate(
        load("enable: true\nrules:\nruleDefault:\n  enable: true\n  category:\n")
    )
    assert config.rules == []
    assert config.rule_default.category == []
    assert CategoriseConfig().rule_default.category[0].value == "unknown"
    assert Categoriser(CategoriseConfig(enable=True)).categorise(event("x")) == (
        ("qs_log_category", "unknown"),
    )


def test_snake_case_names_work_too() -> None:
    config = CategoriseConfig.model_validate(
        {"enable": True, "rules": [{"log_level": ["WARN"], "filter": [{"type": "ew", "value": 42}],
                                    "category": [{"name": "n", "value": 1}]}]}
    )  # fmt: skip
    assert Categoriser(config).categorise(event("answer 42", "WARN")) == (("n", "1"),)


@pytest.mark.parametrize(
    "bad",
    [
        {"rules": [{"filter": [{"type": "regex", "value": "x"}]}]},
        {"rules": [{"action": "delete"}]},
        {"rules": [{"logLevels": ["WARN"]}]},
        {"unknownKey": True},
        {"ruleDefault": {"category": [{"name": "only-name"}]}},
    ],
)
def test_invalid_config_is_a_validation_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CategoriseConfig.model_validate(bad)


def test_rules_with_empty_level_or_filter_lists_match_nothing() -> None:
    config = CategoriseConfig.model_validate(
        {
            "enable": True,
            "rules": [
                {
                    "logLevel": [],
                    "filter": [{"type": "so", "value": ""}],
                    "category": [{"name": "a", "value": "1"}],
                },
                {"logLevel": ["WARN"], "filter": [], "category": [{"name": "b", "value": "2"}]},
            ],
        }
    )
    assert Categoriser(config).categorise(event("anything", "WARN")) == (("qs_log_category", "unknown"),)


def _template_categorise_section(compat: Path) -> Any:
    """Butler SOS's template ships its example rules commented out; uncomment them and load the section."""
    lines = (compat / "butler-sos/production_template.yaml").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("categorise:"))
    rules = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("rules:"))
    default = next(i for i in range(rules, len(lines)) if lines[i].strip().startswith("ruleDefault:"))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = next(
        i
        for i in range(default + 1, len(lines))
        if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= indent
    )
    uncommented = [re.sub(r"^(\s*)# ?", r"\1", line) for line in lines[rules + 1 : default]]
    section = "\n".join([*lines[start : rules + 1], *uncommented, *lines[default:end]])
    return load(textwrap.dedent(section))["categorise"]


def test_butler_sos_template_section_validates_as_is(compat_dir: Path) -> None:
    text = (compat_dir / "butler-sos/production_template.yaml").read_text(encoding="utf-8")
    section = load(text)["Butler-SOS"]["logEvents"]["categorise"]
    config = CategoriseConfig.model_validate(section)
    assert config.rules == []  # the template's "rules:" is null
    assert Categoriser(config).categorise(event("x")) == ()  # disabled in the template


def test_butler_sos_template_example_rules(compat_dir: Path) -> None:
    section = _template_categorise_section(compat_dir)
    config = CategoriseConfig.model_validate({**section, "enable": True})
    assert len(config.rules) == 4
    categoriser = Categoriser(config)
    cases = {
        ("WARN", "Access was denied for User: 'ACME\\jdoe'"): "access-denied",
        ("ERROR", "Duplicate entity with userId 'jdoe' in directory 'ACME'"): "user-directory",
        ("WARN", "Failed to request service alive response from https://qs-prod-03:4899/"): "qs-service",
        # the template's service-down rule lists WARN only
        ("ERROR", "Failed to request service alive response from https://qs-prod-03:4899/"): "unknown",
        (
            "ERROR",
            "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
        ): "reload-failed",
        ("WARN", "Task finished with state FinishedFail"): "reload-failed",
    }
    for (level, message), value in cases.items():
        assert categoriser.categorise(event(message, level)) == (("qs_log_category", value),), message
