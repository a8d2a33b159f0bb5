"""Butler's schedule file: ``butlerSchedule:`` followed by a list of schedules, in YAML.

Read with ruamel's round-trip loader and rewritten in place, so comments and the order of keys a
person wrote survive every rewrite. A rewrite goes to a temporary file in the same folder that then
replaces the old one (``os.replace``): a crash leaves the old or the new file, never half of one.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

ROOT_KEY = "butlerSchedule"
#: the order Butler writes a schedule's fields in
FIELD_ORDER = (
    "name",
    "cronSchedule",
    "timezone",
    "qlikSenseTaskId",
    "startupState",
    "tags",
    "id",
    "created",
    "lastKnownState",
)


class ScheduleFileError(Exception):
    """The file exists but is not a readable schedule file; the message names it and says why."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    return yaml


def read_schedules(path: Path) -> list[dict[str, Any]]:
    """The entries of ``butlerSchedule`` as plain dicts; ``[]`` when the file does not exist."""
    document = _load(path)
    if document is None:
        return []
    entries = document.get(ROOT_KEY) or []
    if not isinstance(entries, list):
        raise ScheduleFileError(f"{path}: {ROOT_KEY} must be a list of schedules")
    return [dict(entry) if isinstance(entry, Mapping) else {"invalid": entry} for entry in entries]


def write_schedules(path: Path, schedules: Sequence[Mapping[str, Any]]) -> None:
    """Rewrite ``path`` with ``schedules``, keeping comments of entries (matched by ``id``) and the rest."""
    try:
        document = _load(path)
    except ScheduleFileError:
        document = None  # unreadable: replaced by a clean file
    if document is None:
        document = CommentedMap()
    old = document.get(ROOT_KEY)
    by_id: dict[str, CommentedMap] = {}
    if isinstance(old, list):
        by_id = {str(e["id"]): e for e in old if isinstance(e, CommentedMap) and "id" in e}
    entries = CommentedSeq()
    for schedule in schedules:
        entry = by_id.get(str(schedule["id"]), CommentedMap())
        for stale in [k for k in entry if k not in schedule]:
            del entry[stale]
        for key in [*FIELD_ORDER, *(k for k in schedule if k not in FIELD_ORDER)]:
            if key in schedule:
                value = schedule[key]
                entry[key] = CommentedSeq(value) if isinstance(value, list) else value
        entries.append(entry)
    document[ROOT_KEY] = entries
    buffer = io.StringIO()
    _yaml().dump(document, buffer)
    _replace_atomically(path, buffer.getvalue())


def _load(path: Path) -> CommentedMap | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ScheduleFileError(f"{path}: cannot read: {exc}") from exc
    try:
        document = _yaml().load(text)
    except YAMLError as exc:
        raise ScheduleFileError(f"{path}: not valid YAML: {exc}") from exc
    if document is None:
        return None
    if not isinstance(document, CommentedMap):
        raise ScheduleFileError(f"{path}: expected a mapping with {ROOT_KEY}: at the top")
    return document


def _replace_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
