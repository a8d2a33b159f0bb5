"""The QRS ``filter=`` query language: a tokenizer, a recursive-descent parser and an evaluator.

Grammar (precedence ``not`` > ``and`` > ``or``; keywords and operators are case-insensitive)::

    filter  := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" filter ")" | clause
    clause  := path op value
    op      := eq | ne | lt | le | gt | ge | so | sw | ew
    value   := 'string' (with '' for a quote) | guid | number | true | false | null | EnumName

Evaluation follows QRS: property paths are case-insensitive per segment, dots walk into objects and
collections, and a clause on a collection holds when any element satisfies it. Strings compare
case-insensitively, ISO timestamps as instants, numbers numerically, and bare enum names against the
integer the JSON carries (through a caller-supplied name table) or against a string value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "OPERATORS",
    "And",
    "Clause",
    "Filter",
    "FilterSyntaxError",
    "Node",
    "Not",
    "Or",
    "Value",
    "parse_filter",
]

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "so", "sw", "ew")
_STRING_ONLY = frozenset({"so", "sw", "ew"})
_ORDERING = frozenset({"lt", "le", "gt", "ge"})
_RESERVED = frozenset({"and", "or", "not"})
_MAX_DEPTH = 64

Enums = Mapping[str, Mapping[str, int]]
ValueKind = Literal["string", "guid", "number", "bool", "null", "name"]


class FilterSyntaxError(ValueError):
    """The text is not a valid filter; ``str()`` is the body QRS answers with HTTP 400."""

    def __init__(self, text: str, detail: str = "") -> None:
        super().__init__(f"Cannot parse the expression: {text}")
        self.text = text
        self.detail = detail


# ---------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Value:
    """A literal on the right-hand side of a clause."""

    kind: ValueKind
    value: str | int | float | bool | None

    def __str__(self) -> str:
        if self.kind == "string":
            return "'" + str(self.value).replace("'", "''") + "'"
        if self.kind == "bool":
            return "true" if self.value else "false"
        if self.kind == "null":
            return "null"
        if isinstance(self.value, float):
            text = f"{Decimal(repr(self.value)):f}"  # positional notation: the lexer has no exponents
            return text if "." in text else text + ".0"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Clause:
    path: tuple[str, ...]
    op: str
    value: Value

    def __str__(self) -> str:
        return f"{'.'.join(self.path)} {self.op} {self.value}"


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    def __str__(self) -> str:
        return f"not {_child_text(self.operand)}"


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(_child_text(o) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " or ".join(_child_text(o) for o in self.operands)


Node = Clause | Not | And | Or


def _child_text(node: Node) -> str:
    """Composite children are parenthesised so that text → parse gives back the same tree."""
    return str(node) if isinstance(node, Clause) else f"({node})"


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter; ``str()`` gives canonical filter text that parses back to an equal filter."""

    root: Node
    enums: Enums = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return str(self.root)

    def matches(self, entity: Mapping[str, Any], enums: Enums | None = None) -> bool:
        """True when ``entity`` (a QRS JSON object) satisfies the filter.

        ``enums`` (property name → enum name → int) adds to or overrides the table given at parse time.
        """
        table = _fold_enums(self.enums)
        if enums:
            table = {**table, **_fold_enums(enums)}
        return _evaluate(self.root, entity, table)


# ------------------------------------------------------------------------------------------- lexing

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w.\-]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.\-]))
  | (?P<word>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?![\w.\-]))
    """,
    re.VERBOSE | re.ASCII,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            detail = "unterminated string" if text[pos] == "'" else f"unexpected character {text[pos]!r}"
            raise FilterSyntaxError(text, f"{detail} at {pos}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    return tokens


# ------------------------------------------------------------------------------------------ parsing


class _Parser:
    def __init__(self, text: str, enums: Enums) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.enums = enums

    def fail(self, detail: str) -> FilterSyntaxError:
        return FilterSyntaxError(self.text, detail)

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail("unexpected end of expression")
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("empty expression")
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            raise self.fail(f"unexpected {token.text!r} at {token.pos}")
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.keyword("or"):
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_unary()]
        while self.keyword("and"):
            operands.append(self.parse_unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_unary(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail("expression nested too deeply")
        try:
            if self.keyword("not"):
                return Not(self.parse_unary())
            token = self.peek()
            if token is not None and token.kind == "lparen":
                self.i += 1
                node = self.parse_or()
                if self.take().kind != "rparen":
                    raise self.fail("expected ')'")
                return node
            return self.parse_clause()
        finally:
            self.depth -= 1

    def parse_clause(self) -> Clause:
        token = self.take()
        if token.kind != "word" or token.text.split(".")[0].lower() in _RESERVED:
            raise self.fail(f"expected a property name at {token.pos}")
        path = tuple(token.text.split("."))
        op_token = self.take()
        op = op_token.text.lower()
        if op_token.kind != "word" or op not in OPERATORS:
            raise self.fail(f"unknown operator {op_token.text!r} at {op_token.pos}")
        value = self.parse_value()
        if op in _STRING_ONLY and value.kind not in ("string", "guid", "name"):
            raise self.fail(f"operator {op!r} needs a string")
        if value.kind == "name":
            self.check_enum_name(path, str(value.value))
        return Clause(path, op, value)

    def parse_value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return Value("string", token.text[1:-1].replace("''", "'"))
        if token.kind == "guid":
            return Value("guid", token.text)
        if token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            return Value("number", number)
        if token.kind == "word" and "." not in token.text:
            word = token.text.lower()
            if word in ("true", "false"):
                return Value("bool", word == "true")
            if word == "null":
                return Value("null", None)
            if word not in _RESERVED:
                return Value("name", token.text)
        raise self.fail(f"expected a value at {token.pos}")

    def check_enum_name(self, path: tuple[str, ...], name: str) -> None:
        table = _enum_table(self.enums, path)
        if table is not None and name.lower() not in table:
            raise self.fail(f"{name!r} is not a value of {'.'.join(path)}")


def parse_filter(text: str, enums: Enums | None = None) -> Filter:
    """Parse QRS filter text; raise :class:`FilterSyntaxError` when it is not valid."""
    folded = _fold_enums(enums or {})
    return Filter(_Parser(text, folded).parse(), folded)


# --------------------------------------------------------------------------------------- evaluation


def _fold_enums(enums: Enums) -> dict[str, dict[str, int]]:
    return {prop.lower(): {name.lower(): num for name, num in names.items()} for prop, names in enums.items()}


def _enum_table(enums: Enums, path: tuple[str, ...]) -> Mapping[str, int] | None:
    """Enum names for a property: looked up by the full dotted path, then by its last segment."""
    return enums.get(".".join(path).lower()) or enums.get(path[-1].lower())


def _evaluate(node: Node, entity: Mapping[str, Any], enums: Enums) -> bool:
    if isinstance(node, Clause):
        return any(_compare(node, candidate, enums) for candidate in _resolve(entity, node.path))
    if isinstance(node, Not):
        return not _evaluate(node.operand, entity, enums)
    if isinstance(node, And):
        return all(_evaluate(o, entity, enums) for o in node.operands)
    return any(_evaluate(o, entity, enums) for o in node.operands)


def _get(obj: Mapping[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    folded = key.lower()
    for name, value in obj.items():
        if isinstance(name, str) and name.lower() == folded:
            return value
    return None


def _resolve(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value the path reaches; lists fan out, a missing property yields ``None``."""
    if isinstance(value, list | tuple):
        for item in value:
            yield from _resolve(item, path)
        return
    if not path:
        yield value
        return
    if isinstance(value, Mapping):
        yield from _resolve(_get(value, path[0]), path[1:])
    else:
        yield None


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def _as_instant(text: str) -> datetime | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _order(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    if op == "gt":
        return bool(left > right)
    return bool(left >= right)


def _compare_text(op: str, actual: str, expected: str) -> bool:
    left, right = actual.casefold(), expected.casefold()
    if op == "so":
        return right in left
    if op == "sw":
        return left.startswith(right)
    if op == "ew":
        return left.endswith(right)
    left_instant, right_instant = _as_instant(actual), _as_instant(expected)
    if left_instant is not None and right_instant is not None:
        return _order(op, left_instant, right_instant)
    return _order(op, left, right)


def _compare(clause: Clause, actual: Any, enums: Enums) -> bool:
    op, value = clause.op, clause.value
    if value.kind == "null" or actual is None:
        if op not in ("eq", "ne"):
            return False
        same = value.kind == "null" and actual is None
        return same if op == "eq" else not same
    if isinstance(actual, Mapping | list | tuple):
        return False
    if value.kind == "bool":
        return isinstance(actual, bool) and op in ("eq", "ne") and _order(op, actual, value.value)
    if value.kind == "number":
        number = _as_number(actual)
        return number is not None and _order(op, number, value.value)
    expected = str(value.value)
    if isinstance(actual, int) and not isinstance(actual, bool):
        table = _enum_table(enums, clause.path)
        if table is not None and op not in _STRING_ONLY:
            code = table.get(expected.lower())
            return code is not None and _order(op, actual, code)
        if value.kind == "name":
            return False
    text = ("true" if actual else "false") if isinstance(actual, bool) else str(actual)
    return _compare_text(op, text, expected)


def _as_number(actual: Any) -> float | None:
    if isinstance(actual, bool):
        return None
    if isinstance(actual, int | float):
        return float(actual)
    if isinstance(actual, str):
        try:
            number = float(actual)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
