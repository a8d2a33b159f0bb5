"""Read, substitute, override and validate a configuration file.

Errors are collected, not raised one at a time: :class:`ConfigError` carries every
:class:`ConfigProblem` with its dotted key path, the line in the file (when the key is in the file),
and a hint (``did you mean …``, the expected type).

* ``${NAME}`` and ``${NAME:-default}`` inside string values are replaced from the environment.
* ``SENSEBUTLER__SECTION__KEY=value`` environment variables override any key (value parsed as a
  YAML scalar), e.g. ``SENSEBUTLER__INFLUXDB__V1__PASSWORD=secret``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sensebutler.config.messages import allowed_keys, describe, is_union_member_tag, union_message
from sensebutler.config.model import Config

ENV_PREFIX = "SENSEBUTLER__"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]

EMPTY_HINT = (
    "config/example.yaml is an annotated example; `sensebutler simulator --write-config FILE` writes one"
)
#: the top-level key of each original tool's config file
BUTLER_TOP_LEVEL_KEYS = {"Butler-SOS": "Butler SOS", "Butler": "Butler"}


@dataclass(frozen=True)
class ConfigProblem:
    path: str
    message: str
    line: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        text = f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"
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
    if tree is None:
        raise ConfigError(source, [ConfigProblem("", "the file is empty", hint=EMPTY_HINT)])
    lines = _LineIndex(tree)
    if isinstance(tree, dict):
        _refuse_butler_files(tree, source, lines)
    problems: list[ConfigProblem] = []
    data = _substitute(tree, (), env, problems, lines)
    if not isinstance(data, dict):
        raise ConfigError(
            source, [ConfigProblem("", "the file must be a mapping of sections (key: value)", 1)]
        )
    _apply_overrides(data, env, problems)
    return validate_config(data, source, lines, problems)


def validate_config(
    data: Mapping[str, Any],
    source: str = "<config>",
    lines: _LineIndex | None = None,
    problems: list[ConfigProblem] | None = None,
) -> Config:
    """Validate plain config data (a parsed file, or one built in code such as the simulator's);
    raise :class:`ConfigError` with every problem in our words (and its line when ``lines`` know)."""
    found = list(problems or [])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        found.extend(_problems_from_validation(exc, lines or _LineIndex(None)))
        raise ConfigError(source, found) from None
    if found:
        raise ConfigError(source, found)
    return config


def _refuse_butler_files(tree: Mapping[Any, Any], source: str, lines: _LineIndex) -> None:
    """A Butler or Butler SOS file has one top-level key naming the tool; say what to do with it
    instead of listing every key of it as unknown."""
    for key, tool in BUTLER_TOP_LEVEL_KEYS.items():
        if key in tree:
            message = f"this looks like a {tool} config: run `sensebutler config import`"
            raise ConfigError(source, [ConfigProblem("", message, lines.line((key,)))])


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
    errors = exc.errors(include_url=False)
    unions = _union_failures(errors)
    reported_unions: set[Path_] = set()
    for error in errors:
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
        if loc[:-1] in unions:
            if loc[:-1] not in reported_unions:
                reported_unions.add(loc[:-1])
                message = union_message(unions[loc[:-1]], error.get("input"))
                yield ConfigProblem(_dotted(loc[:-1]), message, lines.line(loc[:-1]))
            continue
        message, hint = describe(error, loc, allowed_keys(Config, loc[:-1]))
        yield ConfigProblem(_dotted(loc), message, lines.line(loc), hint)


def _union_failures(errors: list[Any]) -> dict[Path_, list[str]]:
    """Locations where a value matched no member of a union such as ``str | int | float | bool``.

    pydantic reports one error per member, at ``<location>.<member>``; they become one problem."""
    members: dict[Path_, list[str]] = {}
    for error in errors:
        loc: Path_ = tuple(error["loc"])
        if loc and is_union_member_tag(loc[-1]):
            members.setdefault(loc[:-1], []).append(str(loc[-1]))
    return {loc: tags for loc, tags in members.items() if len(tags) > 1}
