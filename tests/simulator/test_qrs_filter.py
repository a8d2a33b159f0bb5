"""QRS filter language: parsing, evaluation against QRS-shaped entities, errors, properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensebutler.simulator.qrs_filter import (
    OPERATORS,
    And,
    Clause,
    Filter,
    FilterSyntaxError,
    Node,
    Not,
    Or,
    Value,
    parse_filter,
)

TASK_ID = "dec2a02a-1680-44ef-8dc2-e2bfb180af87"
APP_ID = "4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"

TASK: dict[str, Any] = {
    "id": TASK_ID,
    "name": "Reload of Sales dashboard",
    "taskType": 0,
    "enabled": True,
    "maxRetries": 2,
    "modifiedDate": "2024-01-05T10:22:11.123Z",
    "app": {"id": APP_ID, "name": "Sales dashboard"},
    "tags": [{"id": "11111111-2222-4333-8444-555555555555", "name": "Nightly"}, {"name": "Finance"}],
    "customProperties": [
        {"value": "alerts-on", "definition": {"name": "ButlerFailedReloadAlert"}},
        {"value": "ops@ex.com", "definition": {"name": "ButlerEmail"}},
    ],
    "operational": {"lastExecutionResult": {"status": 8, "duration": 1523.5}},
    "description": None,
}

CP_DEFINITION: dict[str, Any] = {"name": "ButlerEmail", "objectTypes": ["ReloadTask", "App"]}
SERVICE: dict[str, Any] = {"serviceType": 3, "serviceState": 2, "serverNodeConfiguration": {"name": "n1"}}
SERVICE_ENUMS = {
    "serviceType": {"Repository": 0, "Proxy": 1, "Scheduler": 2, "Engine": 3, "Printing": 5},
    "serviceState": {"Initializing": 0, "Running": 2, "NoCommunication": 3},
}


def matches(text: str, entity: dict[str, Any] = TASK) -> bool:
    return parse_filter(text).matches(entity)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name eq 'reload of sales DASHBOARD'", True),
        ("name eq 'Reload of Sales'", False),
        ("name ne 'Reload of Sales'", True),
        ("name ne 'reload of sales dashboard'", False),
        ("maxRetries lt 3", True),
        ("maxRetries lt 2", False),
        ("maxRetries le 2", True),
        ("maxRetries le 1", False),
        ("maxRetries gt 1", True),
        ("maxRetries gt 2", False),
        ("maxRetries ge 2", True),
        ("maxRetries ge 2.5", False),
        ("name so 'SALES'", True),
        ("name so 'marketing'", False),
        ("name sw 'reload of'", True),
        ("name sw 'sales'", False),
        ("name ew 'Dashboard'", True),
        ("name ew 'reload'", False),
    ],
)
def test_every_operator(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize("op", ["EQ", "Eq", "eQ"])
def test_operator_names_are_case_insensitive(op: str) -> None:
    assert matches(f"name {op} 'Reload of Sales dashboard'")


def test_property_path_segments_are_case_insensitive() -> None:
    assert matches("Name eq 'Reload of Sales dashboard'")
    assert matches("APP.NAME eq 'sales dashboard'")
    assert matches("Operational.LastExecutionResult.Status eq 8")


def test_precedence_not_over_and_over_or() -> None:
    # true or (false and false) → true; (true or false) and false would be false
    assert matches("maxRetries eq 2 or name eq 'x' and name eq 'y'")
    # (not false) and true
    assert matches("not name eq 'x' and maxRetries eq 2")
    # not binds to the first clause only: (not true) or true
    assert matches("not maxRetries eq 2 or enabled eq true")
    parsed = parse_filter("a eq 1 or b eq 2 and not c eq 3")
    assert isinstance(parsed.root, Or)
    assert isinstance(parsed.root.operands[1], And)
    assert isinstance(parsed.root.operands[1].operands[1], Not)


def test_parentheses_change_grouping() -> None:
    assert not matches("(maxRetries eq 2 or name eq 'x') and name eq 'y'")
    assert matches("maxRetries eq 2 or (name eq 'x' and name eq 'y')")
    assert not matches("not (maxRetries eq 2 or name eq 'x')")
    assert matches("((((maxRetries eq 2))))")


def test_keywords_are_case_insensitive() -> None:
    assert matches("NOT name eq 'x' AND maxRetries eq 2 OR enabled eq FALSE")


def test_tags_name_matches_any_tag() -> None:
    assert matches("tags.name eq 'finance'")
    assert matches("tags.name eq 'Nightly'")
    assert not matches("tags.name eq 'Weekly'")
    assert not matches("tags.name eq 'Finance'", {**TASK, "tags": []})


def test_custom_property_pair() -> None:
    text = "(customProperties.definition.name eq 'ButlerEmail') and (customProperties.value eq 'ops@ex.com')"
    assert matches(text)
    other = {**TASK, "customProperties": [{"value": "x", "definition": {"name": "ButlerEmail"}}]}
    assert not matches(text, other)
    assert not matches(text, {**TASK, "customProperties": []})


def test_collection_of_scalars_contains() -> None:
    assert matches("objectTypes eq 'ReloadTask'", CP_DEFINITION)
    assert matches("objectTypes eq 'app'", CP_DEFINITION)
    assert not matches("objectTypes eq 'User'", CP_DEFINITION)


def test_guid_unquoted_and_case_insensitive() -> None:
    assert matches(f"id eq {TASK_ID}")
    assert matches(f"id eq {TASK_ID.upper()}")
    assert matches(f"app.id eq '{APP_ID}'")
    assert not matches(f"id eq {APP_ID}")
    assert matches(f"id eq {TASK_ID} and customProperties.definition.name eq 'ButlerFailedReloadAlert'")


def test_dates_compare_as_instants() -> None:
    assert matches("modifiedDate le '2024-01-05T10:22:11.123Z'")
    assert not matches("modifiedDate lt '2024-01-05T10:22:11.123Z'")
    assert matches("modifiedDate gt '2024-01-05T10:22:11.122Z'")
    assert matches("modifiedDate eq '2024-01-05T11:22:11.123+01:00'")
    assert matches("modifiedDate lt '2024-01-06'")
    allocation = {"lastUsed": "1753-01-01T00:00:00.000Z"}
    assert matches("lastUsed le '2023-06-01T00:00:00.000Z'", allocation)


def test_numbers_compare_numerically() -> None:
    assert matches("operational.lastExecutionResult.duration gt 999")
    assert matches("operational.lastExecutionResult.duration eq 1523.5")
    assert not matches("operational.lastExecutionResult.duration lt 200")


def test_booleans_and_null() -> None:
    assert matches("enabled eq true")
    assert not matches("enabled eq false")
    assert matches("enabled ne false")
    assert matches("description eq null")
    assert matches("doesNotExist eq null")
    assert not matches("name eq null")
    assert matches("name ne null")


def test_enum_names_against_integers() -> None:
    assert parse_filter("ServiceType eq Engine", SERVICE_ENUMS).matches(SERVICE)
    assert parse_filter("serviceType eq engine and serviceState eq Running", SERVICE_ENUMS).matches(SERVICE)
    assert not parse_filter("ServiceType eq Proxy", SERVICE_ENUMS).matches(SERVICE)
    # enums may also be supplied when matching
    assert parse_filter("serviceType eq Engine").matches(SERVICE, SERVICE_ENUMS)
    # without a table a bare name cannot match an integer …
    assert not parse_filter("serviceType eq Engine").matches(SERVICE)
    # … but it does match a string value case-insensitively
    assert parse_filter("serviceType eq engine").matches({"serviceType": "Engine"})


def test_unknown_enum_name_is_a_syntax_error_when_the_table_is_known() -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter("serviceType eq Engin", SERVICE_ENUMS)


def test_escaped_quote_in_string() -> None:
    assert matches("name eq 'O''Brien''s app'", {"name": "O'Brien's app"})
    assert str(parse_filter("name eq 'it''s'")) == "name eq 'it''s'"


def test_nested_entity_that_is_not_an_object_does_not_match() -> None:
    assert not matches("name.first eq 'x'")
    assert not matches("app eq 'x'")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "(name eq 'x'",
        "name eq 'x')",
        "((name eq 'x')",
        "name eqq 'x'",
        "name like 'x'",
        "name eq 'unterminated",
        "name eq 'x' & id eq 1",
        "name eq 'x' and",
        "and name eq 'x'",
        "name eq",
        "name 'x'",
        "name eq 'x' 'y'",
        "name eq 'x' name eq 'y'",
        "name so 5",
        "not",
        "()",
        "name eq and",
        "1 eq 1",
        "name eq 12ab",
        "name eq dec2a02a-1680-44ef-8dc2-e2bfb180af8",
        'name eq "x"',
        "name eq 'x' #",
    ],
)
def test_bad_input_gives_the_exact_qrs_error(text: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert str(caught.value) == f"Cannot parse the expression: {text}"


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter("(" * 5000 + "a eq 1" + ")" * 5000)
    with pytest.raises(FilterSyntaxError):
        parse_filter("not " * 5000 + "a eq 1")


# ------------------------------------------------------------------------------------------ properties


@settings(max_examples=300)
@given(st.text())
def test_arbitrary_text_only_raises_filter_syntax_error(text: str) -> None:
    try:
        parsed = parse_filter(text)
    except FilterSyntaxError as error:
        assert str(error) == f"Cannot parse the expression: {text}"
    else:
        parsed.matches(TASK)


_FILTER_ALPHABET = st.sampled_from([*"()' ab.eqnotrd0123456789-&_=", "and", "or", "not", "eq", "'x'"])


@settings(max_examples=300)
@given(st.lists(_FILTER_ALPHABET, max_size=30).map("".join))
def test_filter_like_text_only_raises_filter_syntax_error(text: str) -> None:
    try:
        parse_filter(text).matches(TASK)
    except FilterSyntaxError as error:
        assert str(error) == f"Cannot parse the expression: {text}"


_segment = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s.lower() not in {"and", "or", "not"}
)
_name = _segment.filter(lambda s: s.lower() not in {"true", "false", "null"})
_value = st.one_of(
    st.text().map(lambda s: Value("string", s)),
    st.uuids().map(lambda u: Value("guid", str(u))),
    st.integers(min_value=-(10**12), max_value=10**12).map(lambda n: Value("number", n)),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: Value("number", float(f))),
    st.booleans().map(lambda b: Value("bool", b)),
    st.just(Value("null", None)),
    _name.map(lambda s: Value("name", s)),
)
_clause = st.builds(
    Clause,
    path=st.lists(_segment, min_size=1, max_size=3).map(tuple),
    op=st.sampled_from(OPERATORS),
    value=_value,
).filter(lambda c: c.op not in ("so", "sw", "ew") or c.value.kind in ("string", "guid", "name"))


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(Not, children), st.builds(And, many), st.builds(Or, many))


_tree: st.SearchStrategy[Node] = st.recursive(_clause, _extend, max_leaves=8)


@settings(max_examples=300)
@given(_tree)
def test_generated_filters_round_trip(tree: Node) -> None:
    text = str(Filter(tree))
    assert parse_filter(text).root == tree
    assert str(parse_filter(text)) == text
