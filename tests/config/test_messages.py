"""Config errors are in our words: what was expected and what was found, never pydantic's phrasing."""

from __future__ import annotations

import copy
import io
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sensebutler.config import ConfigError, parse_config, validate_config
from sensebutler.config.messages import LIBRARY_PHRASES

REPO = Path(__file__).resolve().parents[2]
COMPAT = REPO.parent / "shared" / "compat"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "t.yaml", {})
    return [str(p) for p in info.value.problems]


SERVER = "qlik:\n  servers:\n    - {name: a, host: h, %s}\n"

BAD_CONFIGS = [
    # wrong type
    ("udp:\n  log_events:\n    port: nine\n", "line 3: udp.log_events.port: expected an integer, got 'nine'"),
    ("influxdb:\n  enable: maybe\n", "line 2: influxdb.enable: expected true or false, got 'maybe'"),
    ("polling:\n  health: 3\n", "line 2: polling.health: expected a mapping (key: value), got 3"),
    ("polling: [1]\n", "line 1: polling: expected a mapping (key: value), got [1]"),
    ("qlik:\n  servers: {a: 1}\n", "line 2: qlik.servers: expected a list, got {'a': 1}"),
    ("state:\n  dir: [a]\n", "line 2: state.dir: expected a string, got ['a']"),
    ("mqtt:\n  keepalive_s: 60.5\n", "line 2: mqtt.keepalive_s: expected a whole number, got 60.5"),
    (
        SERVER % "tags: {env: [1, 2]}",
        "line 3: qlik.servers[0].tags.env: expected a string, a number or true/false, got [1, 2]",
    ),
    (
        SERVER % "tags: {env: null}",
        "line 3: qlik.servers[0].tags.env: expected a string, a number or true/false, got null",
    ),
    # out of range
    (
        "polling:\n  health:\n    interval_s: 0\n",
        "line 3: polling.health.interval_s: must be at least 0.5, got 0",
    ),
    (
        "udp:\n  log_events:\n    port: 70000\n",
        "line 3: udp.log_events.port: must be at most 65535, got 70000",
    ),
    (
        "udp:\n  rate_limit: 1\n",
        "line 2: udp.rate_limit: unknown key 'rate_limit' (allowed keys: "
        "log_events, metrics, task_events, user_events)",
    ),
    (
        "udp:\n  log_events:\n    rate_limit:\n      per_second: 0\n",
        "line 4: udp.log_events.rate_limit.per_second: must be greater than 0, got 0",
    ),
    (
        "udp:\n  log_events:\n    receive_buffer_mb: .inf\n",
        "line 3: udp.log_events.receive_buffer_mb: must be at most 2048, got inf",
    ),
    (
        "udp:\n  log_events:\n    port: .nan\n",
        "line 3: udp.log_events.port: expected a finite number, got nan",
    ),
    # not one of
    (
        "logging:\n  level: loud\n",
        "line 2: logging.level: expected one of 'debug', 'info', 'warning' or 'error', got 'loud'",
    ),
    ("influxdb:\n  version: 4\n", "line 2: influxdb.version: expected one of 1, 2 or 3, got 4"),
    (
        "new_relic:\n  log_events:\n    levels: [info]\n",
        "line 3: new_relic.log_events.levels[0]: expected one of 'warn', 'error' or 'fatal', got 'info'",
    ),
    # text of the wrong form
    (
        "influxdb:\n  v1:\n    retention_policy:\n      duration: 3x\n",
        "line 4: influxdb.v1.retention_policy.duration: expected a duration such as 10d, 4w, 1h30m or INF, "
        "got '3x'",
    ),
    (
        "new_relic:\n  accounts:\n    - {name: a, account_id: x1, insert_api_key: k}\n",
        "line 3: new_relic.accounts[0].account_id: expected digits only, got 'x1'",
    ),
    (SERVER % "engine_port: 1", None),  # valid: the table's helper is right
    ("qlik:\n  servers:\n    - {name: '', host: h}\n", "line 3: qlik.servers[0].name: must not be empty"),
    # missing
    ("qlik:\n  servers:\n    - {host: h}\n", "line 3: qlik.servers[0].name: required key is missing"),
    (
        "new_relic:\n  enable: true\n",
        "line 2: new_relic.accounts: required while enable is true "
        "(set accounts or switch the section off with enable: false)",
    ),
    # extra key
    ("polling:\n  helth: {}\n", "line 2: polling.helth: unknown key 'helth' (did you mean 'health'?)"),
    (
        "udp:\n  log_events:\n    engine_performance_monitor:\n      monitorFiltr: {}\n",
        "line 4: udp.log_events.engine_performance_monitor.monitorFiltr: unknown key 'monitorFiltr' "
        "(did you mean 'monitorFilter'?)",
    ),
    # our own rules (pydantic would say "Value error, …")
    (
        "qlik:\n  servers:\n    - {name: a, host: h}\n    - {name: a, host: h2}\n",
        "line 1: qlik: server names must be unique; repeated: a",
    ),
    ("influxdb:\n  enable: true\n  version: 3\n", "line 1: influxdb: version 3 needs v3.database"),
    (
        "udp:\n  log_events:\n    engine_performance_monitor:\n      monitorFilter:\n"
        "        allApps:\n          appExclude: [{}]\n",
        "line 6: udp.log_events.engine_performance_monitor.monitorFilter.allApps.appExclude[0]: "
        "an app reference needs appId, appName or both",
    ),
    # the file as a whole
    (
        "",
        "the file is empty (config/example.yaml is an annotated example; "
        "`sensebutler simulator --write-config FILE` writes one)",
    ),
    (
        "# nothing but a comment\n",
        "the file is empty (config/example.yaml is an annotated example; "
        "`sensebutler simulator --write-config FILE` writes one)",
    ),
    ("- a\n- b\n", "line 1: the file must be a mapping of sections (key: value)"),
    (
        "---\nButler-SOS:\n  logLevel: info\n",
        "line 2: this looks like a Butler SOS config: run `sensebutler config import`",
    ),
    (
        "Butler:\n  logLevel: info\n",
        "line 1: this looks like a Butler config: run `sensebutler config import`",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
def test_bad_config_gets_exactly_this_message(text: str, expected: str | None) -> None:
    if expected is None:
        parse_config(text, "t.yaml", {})
        return
    assert problems(text) == [expected]


def test_a_long_wrong_value_is_cut_short() -> None:
    (found,) = problems("state:\n  dir: [" + ", ".join(["abcdef"] * 40) + "]\n")
    assert found.startswith("line 2: state.dir: expected a string, got ['abcdef', ")
    assert found.endswith("…") and len(found) < 120


@pytest.mark.parametrize(("tool", "label"), [("butler-sos", "Butler SOS"), ("butler", "Butler")])
def test_a_real_butler_file_gets_the_import_hint(tool: str, label: str) -> None:
    template = COMPAT / tool / "production_template.yaml"
    if not template.exists():
        pytest.skip(f"{template} is absent (the compat files are not in the repository)")
    with pytest.raises(ConfigError) as info:
        parse_config(template.read_text(encoding="utf-8"), str(template), {})
    (problem,) = info.value.problems
    assert problem.message == f"this looks like a {label} config: run `sensebutler config import`"
    assert problem.line == 2  # the key under the leading '---'


# -- property: no message for a random wrong value carries pydantic's wording ---------------------

_EXTRA = {
    "udp": {
        "log_events": {
            "categorise": {
                "enable": True,
                "rules": [
                    {
                        "description": "r",
                        "logLevel": ["WARN"],
                        "action": "categorise",
                        "category": [{"name": "qs_log_category", "value": "x"}],
                        "filter": [{"type": "sw", "value": "abc"}],
                    }
                ],
                "ruleDefault": {
                    "enable": True,
                    "category": [{"name": "qs_log_category", "value": "unknown"}],
                },
            },
            "engine_performance_monitor": {
                "enable": True,
                "track_rejected_events": {"enable": True, "tags": [{"name": "env", "value": "prod"}]},
                "monitorFilter": {
                    "allApps": {"enable": True, "appExclude": [{"appId": "a1"}]},
                    "appSpecific": {"enable": True, "app": [{"include": [{"appName": "n"}]}]},
                },
            },
        },
        "user_events": {"exclude_users": [{"directory": "D", "user_id": "u"}]},
    },
    "influxdb": {"tls": {"enable": False}, "delivery": {"retry": {"initial_s": 1}, "spool": {"max_mb": 1}}},
}


def _base_document() -> dict[str, Any]:
    document = YAML(typ="safe").load((REPO / "config" / "example.yaml").read_text(encoding="utf-8"))

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    merge(document, _EXTRA)
    return document


BASE = _base_document()


def _dump(document: dict[str, Any]) -> str:
    out = io.StringIO()
    YAML(typ="safe").dump(document, out)
    return out.getvalue()


def _at(document: Any, path: tuple[str | int, ...]) -> Any:
    node = document
    for part in path:
        node = node[part]
    return node


def _paths(node: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


PATHS = _paths(BASE)
LEAVES = [path for path in PATHS if not isinstance(_at(BASE, path), dict | list)]
assert len(LEAVES) > 120  # the example plus the Butler SOS-style blocks

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=70_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "x", "nine", "-1", "1e9", "0.5", "/", "INF", "10d", "prod", "sw"]),
)
wrong_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["enable", "name", "x", "appId", "port"]), scalars, max_size=3),
)
changes = st.lists(
    st.tuples(st.sampled_from(LEAVES), wrong_values, st.sampled_from([False, False, False, True])),
    min_size=1,
    max_size=3,
)


def _mutated(edits: list[tuple[tuple[str | int, ...], Any, bool]]) -> dict[str, Any]:
    """The base document with each leaf replaced by a wrong value, or (flag set) a key beside it
    that is misspelt."""
    document = copy.deepcopy(BASE)
    for path, value, misspell in edits:
        parent = _at(document, path[:-1])
        if misspell and isinstance(path[-1], str):
            parent[path[-1] + "x"] = value
        else:
            parent[path[-1]] = value
    return document


def _assert_our_words(problems: list[Any]) -> None:
    assert problems
    for problem in problems:
        text = str(problem)
        assert problem.message and not any(phrase in text for phrase in LIBRARY_PHRASES), text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=changes)
def test_no_message_uses_the_library_wording(edits: list[tuple[tuple[str | int, ...], Any, bool]]) -> None:
    try:
        validate_config(_mutated(edits), "random")
    except ConfigError as exc:
        _assert_our_words(exc.problems)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=changes)
def test_no_message_from_a_file_uses_the_library_wording(
    edits: list[tuple[tuple[str | int, ...], Any, bool]],
) -> None:
    """The same through YAML text (line lookup, substitution); slow (~0.2 s a file), so fewer."""
    try:
        parse_config(_dump(_mutated(edits)), "random.yaml", {})
    except ConfigError as exc:
        _assert_our_words(exc.problems)


def test_the_mutations_of_the_property_make_invalid_files() -> None:
    """The properties above are not vacuous: the base is valid, its mutations are caught."""
    validate_config(BASE)
    document = copy.deepcopy(BASE)
    document["udp"]["log_events"]["engine_performance_monitor"]["monitorFilter"]["allApps"]["appExclude"] = [
        {}
    ]
    document["qlik"]["servers"][0]["tags"] = {"env": [1]}
    document["logging"]["level"] = math.nan
    with pytest.raises(ConfigError) as info:
        parse_config(_dump(document), "t", {})
    assert [p.message.split(",")[0] for p in info.value.problems] == [
        "expected one of 'debug'",
        "expected a string",
        "an app reference needs appId",
    ]
