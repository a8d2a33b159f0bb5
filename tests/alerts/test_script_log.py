"""Script log head/tail and the chat escaping and cut (butler.md §7.4)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from sensebutler.alerts.script_log import CHAT_LIMIT, TRUNCATED, chat_safe, excerpt


def test_head_and_tail_are_whole_lines_joined_with_crlf() -> None:
    part = excerpt("a\r\nb\r\nc\r\nd\r\n", 3, 2)
    assert (part.head, part.tail, part.head_count, part.tail_count, part.rows) == (
        "a\r\nb\r\nc",
        "c\r\nd",
        3,
        2,
        4,
    )
    assert excerpt("a\r\nb", 10, 0) == excerpt("a\r\nb", 10, 0)
    assert excerpt("", 5, 5).rows == 0
    assert excerpt("a\r\nb\r\n", 0, 0).head == ""


def test_short_text_is_escaped_only() -> None:
    assert chat_safe('a\r\n\t"b"\\c') == 'a\\n\\t\\"b\\"\\\\c'
    assert chat_safe("C:\\x", teams=True) == "C:\\\\\\\\x"


def test_long_text_is_cut_where_asked_with_a_marker() -> None:
    text = "".join(f"{n:05d}\n" for n in range(2000))
    head = chat_safe(text, "head")
    tail = chat_safe(text, "tail")
    assert head.startswith("00000\\n") and head.endswith(TRUNCATED)
    assert tail.startswith(TRUNCATED) and tail.endswith("01999\\n")
    assert len(head) < CHAT_LIMIT and len(tail) < CHAT_LIMIT


@given(st.text(max_size=4000), st.sampled_from(["head", "tail"]), st.booleans())
def test_the_result_is_always_a_valid_json_string_below_the_limit(text: str, keep: str, teams: bool) -> None:
    escaped = chat_safe(text, keep, teams)  # type: ignore[arg-type]
    assert len(escaped) < CHAT_LIMIT
    decoded = json.loads(f'"{escaped}"')
    if TRUNCATED not in decoded and not teams:
        assert decoded == text.replace("\r", "")
