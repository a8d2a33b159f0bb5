"""Script log excerpts and the escaping chat destinations need (butler.md §7.4), as pure functions.

Qlik serves the log with CRLF line ends. Head and tail are the first and last N lines, joined again
with CRLF. Slack and Teams take a field as a JSON string inside their template, so the text is
JSON-escaped (CR dropped, LF as ``\\n``, TAB as ``\\t``) and cut below their 3,000-character limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

CRLF = "\r\n"
#: a chat field this long or longer is cut ...
CHAT_LIMIT = 3000
#: ... to this many characters plus the marker
CHAT_KEEP = 2900
TRUNCATED = "----Script log truncated by sensebutler----"


def split_lines(text: str) -> list[str]:
    """The log's lines (CRLF or LF ends); a final line end does not make an empty last line."""
    lines = text.replace(CRLF, "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass(frozen=True, slots=True)
class Excerpt:
    head: str
    tail: str
    head_count: int
    tail_count: int
    rows: int
    characters: int


def excerpt(text: str, head_lines: int, tail_lines: int) -> Excerpt:
    """The first ``head_lines`` and last ``tail_lines`` lines of ``text`` and its size."""
    lines = split_lines(text)
    head = lines[: max(0, head_lines)]
    tail = lines[len(lines) - min(len(lines), max(0, tail_lines)) :]
    return Excerpt(CRLF.join(head), CRLF.join(tail), len(head), len(tail), len(lines), len(text))


def head(text: str, lines: int) -> str:
    return excerpt(text, lines, 0).head


def tail(text: str, lines: int) -> str:
    return excerpt(text, 0, lines).tail


def _escape(text: str, teams: bool) -> str:
    escaped = json.dumps(text.replace("\r", ""), ensure_ascii=False)[1:-1]
    if teams:
        # Teams renders the text as Markdown, where a backslash escapes the next character
        escaped = escaped.replace("\\\\", "\\\\\\\\")
    return escaped


def chat_safe(text: str, keep: Literal["head", "tail"] = "head", teams: bool = False) -> str:
    """``text`` escaped for a JSON string in a Slack or Teams template, at most 3,000 characters.

    A result of 3,000 characters or more is cut to 2,900 (the start kept for ``head``, the end for
    ``tail``; never inside an escape sequence) with a marker line where the cut is. With ``teams``
    backslashes are doubled once more, for Teams' Markdown.
    """
    whole = _escape(text, teams)  # one pass: per character only where a cut must be placed
    if len(whole) < CHAT_LIMIT:
        return whole
    # escaping never shortens, so the kept part lies within CHAT_KEEP characters of its end
    part = text[:CHAT_KEEP] if keep == "head" else text[-CHAT_KEEP:]
    pieces = [_escape(char, teams) for char in part]
    marker = json.dumps(TRUNCATED)[1:-1]
    kept: list[str] = []
    size = 0
    ordered = pieces if keep == "head" else reversed(pieces)
    for piece in ordered:
        if size + len(piece) > CHAT_KEEP:
            break
        kept.append(piece)
        size += len(piece)
    if keep == "head":
        return "".join(kept) + "\\n" + marker
    return marker + "\\n" + "".join(reversed(kept))
