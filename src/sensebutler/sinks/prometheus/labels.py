"""Prometheus label names for the server tags of the config (Butler SOS §4.10 label set)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sensebutler.events.polled import ServerRef

#: every ``butlersos_*`` series carries these; the server tags of the config follow them
SERVER_LABELS = ("host", "server_name", "server_description")
ENGINE_LABELS = ("engine_started", "engine_version")
SESSION_LABELS = ("user_session_virtual_proxy", "user_session_host")
_RESERVED = frozenset(SERVER_LABELS + ENGINE_LABELS + SESSION_LABELS)
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def label_name(tag: str) -> str:
    """A valid label name for a tag name: ``site-code`` → ``site_code``, ``1st`` → ``_1st``."""
    name = _INVALID.sub("_", tag)
    if not name or name[0].isdigit():
        name = "_" + name
    if name.startswith("__"):  # reserved for Prometheus itself
        name = "tag_" + name.lstrip("_")
    return name


class TagLabels:
    """Maps the configured server tag names to label names, leaving out the ones that collide."""

    def __init__(self, tag_names: Iterable[str]) -> None:
        self.by_tag: dict[str, str] = {}
        self.problems: list[str] = []
        taken: dict[str, str] = {}
        for tag in tag_names:
            name = label_name(tag)
            if name in _RESERVED:
                self.problems.append(f"server tag {tag!r} would become label {name!r}, which is built in")
            elif name in taken:
                self.problems.append(f"server tags {taken[name]!r} and {tag!r} both become label {name!r}")
            else:
                taken[name] = tag
                self.by_tag[tag] = name

    @property
    def names(self) -> list[str]:
        return [*SERVER_LABELS, *self.by_tag.values()]

    def values(self, server: ServerRef) -> list[str]:
        tags = dict(server.tags)
        return [server.host, server.name, server.description, *(_text(tags.get(t, "")) for t in self.by_tag)]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
