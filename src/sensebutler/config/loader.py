"""Read, substitute, override and validate a configuration file.

Errors are collected, not raised one at a time: :class:`ConfigError` carries every
:class:`ConfigProblem` with its dotted key path, the line in the file (when the key is in the file),
and a hint (``did you mean …``, the expected type).

* ``${NAME}`` and ``${NAME:-default}`` inside string values are replaced from the environment.
* ``SENSEBUTLER__SECTION__KEY=value`` environment variables override any key (value parsed as a
  YAML scalar), e.g. ``SENSEBUTLER__INFLUXDB__V1__PASSWORD=secret``.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sensebutler.config.model import Config

ENV_PREFIX = "SENSEBUTLER__"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    path: str
    message: str
    line: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        text = f"{where}{self.path or '<root>'}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(Exception):
    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``path``; raise :class:`ConfigError` listing every problem."""
    env = os.environ if environ is None else environ
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            source, [ConfigProblem("", f"cannot read the file: {exc.strerror or exc}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [ConfigProblem("", "the file is not UTF-8 text")]) from exc
    return parse_config(text, source, env)


def parse_config(text: str, source: str = "<config>", environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    tree = _parse_yaml(text, source)
    lines = _LineIndex(tree)
    problems: list[ConfigProblem] = []
    data = _substitute(tree, (), env, problems, lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigProblem("", "the file must be a mapping of sections (key: value)")])
    _apply_overrides(data, env, problems)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from_validation(exc, lines))
        raise ConfigError(source, problems) from None
    if problems:
        raise ConfigError(source, problems)
    return config


def _parse_yaml(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise ConfigError(source, [ConfigProblem("", message, line)]) from None
    except YAMLError as exc:
        raise ConfigError(source, [ConfigProblem("", f"YAML error: {exc}")]) from None


class _LineIndex:
    """Maps key paths to 1-based line numbers of the YAML document."""

    def __init__(self, tree: Any) -> None:
        self._lines: dict[Path_, int] = {}
        self._walk(tree, ())

    def _walk(self, node: Any, path: Path_) -> None:
        if isinstance(node, CommentedMap):
            for key in node:
                pos = node.lc.key(key)
                if pos is not None:
                    self._lines[(*path, str(key))] = pos[0] + 1
                self._walk(node[key], (*path, str(key)))
        elif isinstance(node, CommentedSeq):
            for index, item in enumerate(node):
                pos = node.lc.item(index)
                if pos is not None:
                    self._lines[(*path, index)] = pos[0] + 1
                self._walk(item, (*path, index))

    def line(self, path: Path_, *, exact: bool = False) -> int | None:
        """Line of ``path`` or (unless ``exact``) of its nearest ancestor that is in the file."""
        if exact:
            return self._lines.get(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _substitute(
    node: Any, path: Path_, env: Mapping[str, str], problems: list[ConfigProblem], lines: _LineIndex
) -> Any:
    """Plain Python copy of the YAML tree with ``${VAR}`` references replaced."""
    if isinstance(node, dict):
        return {str(k): _substitute(v, (*path, str(k)), env, problems, lines) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, (*path, i), env, problems, lines) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(
                ConfigProblem(
                    _dotted(path),
                    f"environment variable {name} is not set",
                    lines.line(path),
                    f"set it, or write ${{{name}:-default}}",
                )
            )
            return ""

        return _ENV_REF.sub(replace, node)
    if isinstance(node, str):
        return str(node)
    return node


def _apply_overrides(data: dict[str, Any], env: Mapping[str, str], problems: list[ConfigProblem]) -> None:
    yaml = YAML(typ="safe")
    for name in sorted(env):
        if not name.upper().startswith(ENV_PREFIX) or len(name) <= len(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        if any(not k for k in keys):
            problems.append(ConfigProblem("", f"environment override {name} has an empty key part"))
            continue
        raw = env[name]
        try:
            value = yaml.load(raw) if raw.strip() else ""
        except YAMLError:
            value = raw
        if isinstance(value, (dict, list)):
            value = raw  # overrides set scalars; keep structured text as the string it is
        node = data
        for key in keys[:-1]:
            existing = node.get(key)
            if not isinstance(existing, dict):
                existing = {}
                node[key] = existing
            node = existing
        node[keys[-1]] = value


def _problems_from_validation(exc: ValidationError, lines: _LineIndex) -> Iterator[ConfigProblem]:
    for error in exc.errors(include_url=False):
        loc: Path_ = tuple(error["loc"])
        kind = error["type"]
        if kind == "required_when_enabled":
            for field in str(error.get("ctx", {}).get("fields", "")).split(", "):
                field_path = (*loc, field)
                yield ConfigProblem(
                    _dotted(field_path),
                    "required while enable is true",
                    lines.line(field_path, exact=True) or lines.line((*loc, "enable")),
                    f"set {field} or switch the section off with enable: false",
                )
            continue
        message, hint = _describe(error, loc)
        yield ConfigProblem(_dotted(loc), message, lines.line(loc), hint)


_TYPE_NAMES = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}


def _describe(error: Mapping[str, Any], loc: Path_) -> tuple[str, str]:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(sorted(allowed))}"
        return f"unknown key {loc[-1]!r}", hint
    if kind == "missing":
        return "required key is missing", ""
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {value!r}", ""
    return str(error["msg"]), ""


def _allowed_keys(loc: Path_) -> list[str]:
    """Field names of the model found at ``loc`` in :class:`Config` (empty when unknown)."""
    annotation: Any = Config
    for part in loc:
        model = _model_of(annotation)
        if isinstance(part, int):
            annotation = _item_type(annotation)
            continue
        if model is None or part not in model.model_fields:
            if model is not None:
                annotation = _value_type(annotation)
                continue
            return []
        annotation = model.model_fields[part].annotation
    model = _model_of(annotation)
    return list(model.model_fields) if model is not None else []


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(_unwrap_optional(annotation))
    return args[0] if args else Any


def _value_type(annotation: Any) -> Any:
    args = typing.get_args(_unwrap_optional(annotation))
    return args[-1] if args else Any
