"""Handlebars templates (pybars3) with Butler's ``eq`` helper.

Every template a configuration names is compiled at startup (:meth:`TemplateSet.compile_file`), so a
syntax error stops startup with the file and line. A template that fails while rendering (a helper it
calls does not exist, a helper raised) does not lose the alert: :meth:`TemplateSet.render` logs why
and returns a plain message built from the context.

sensebutler's own templates are in ``templates/<destination>/<event>.handlebars`` beside this module
(``templates/email/reload-failed.handlebars``, ``templates/email/reload-failed.subject.handlebars``,
``templates/slack/reload-aborted.handlebars``, ...): :func:`default_template` finds them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from pybars import Compiler, PybarsError

from sensebutler.logs import RateLimitedLog

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(str(files("sensebutler.alerts").joinpath("templates")))

Renderer = Callable[..., str]


class TemplateError(ValueError):
    """A template file that cannot be read or compiled; the message names the file and line."""


def _eq(this: Any, left: Any, right: Any) -> bool:
    return bool(left == right)


HELPERS: dict[str, Callable[..., Any]] = {"eq": _eq}

_POSITION = re.compile(r"at character (\d+) of line (\d+)(?: near (.*))?", re.S)


def default_template(destination: str, event: str, suffix: str = "") -> Path | None:
    """sensebutler's own template for ``destination`` and ``event`` (``suffix``: ``.subject``)."""
    path = TEMPLATES_DIR / destination / f"{event}{suffix}.handlebars"
    return path if path.is_file() else None


def plain_message(context: Mapping[str, Any]) -> str:
    """The fallback text when a template cannot be rendered: what happened, to which task and app."""
    what = context.get("subjectFallback") or "Qlik Sense task alert"
    lines = [str(what)]
    for label, key in (
        ("Task", "taskName"),
        ("Task ID", "taskId"),
        ("App", "appName"),
        ("App ID", "appId"),
        ("Host", "hostName"),
        ("Log time", "logTimeStamp"),
        ("Message", "logMessage"),
        ("Missing", "missingText"),
    ):
        value = context.get(key)
        if value not in (None, ""):
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


_BLOCK_COMMENT = re.compile(r"\{\{!--.*?--\}\}", re.S)


def without_block_comments(text: str) -> str:
    """``text`` without its ``{{!-- ... --}}`` comments (their line breaks kept, so error lines match).

    pybars ends such a comment at the first ``}}`` inside it, and Butler's templates comment out
    ``{{#if (eq id "butler_docs")}}`` that way: the rest of the comment would land in the message.
    """
    return _BLOCK_COMMENT.sub(lambda found: "\n" * found.group(0).count("\n"), text)


class TemplateSet:
    """Compiled templates by name; one per destination (compiling is slow, rendering fast)."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.helpers = {**HELPERS, **(helpers or {})}
        self._compiled: dict[str, Renderer] = {}
        self._sources: dict[str, str] = {}
        self._lock = threading.Lock()
        self._log = RateLimitedLog(log, 60.0)
        #: renders that fell back to the plain message
        self.render_failures = 0

    def __contains__(self, name: object) -> bool:
        return name in self._compiled

    def compile_text(self, name: str, text: str, *, source: str | None = None) -> str:
        """Compile ``text`` under ``name``; :class:`TemplateError` naming ``source`` and the line."""
        where = source or name
        try:
            with self._lock:  # pybars' compiler is not thread-safe
                compiled = Compiler().compile(without_block_comments(text))
        except PybarsError as exc:
            raise TemplateError(f"template {where}: {_describe(text, str(exc))}") from exc
        except Exception as exc:  # PyMeta raises its own errors for some inputs
            raise TemplateError(f"template {where}: cannot compile: {exc}") from exc
        self._compiled[name] = compiled
        self._sources[name] = where
        return name

    def compile_file(self, path: str | Path, name: str | None = None) -> str:
        """Compile the template file ``path`` (named by its path unless ``name`` is given)."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"template {file}: cannot read it: {exc}") from exc
        return self.compile_text(name or str(file), text, source=str(file))

    def render(
        self,
        name: str,
        context: Mapping[str, Any],
        *,
        fallback: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> str:
        """``name`` rendered with ``context``; on a render error, logged, ``fallback(context)``
        (default :func:`plain_message`)."""
        compiled = self._compiled.get(name)
        try:
            if compiled is None:
                raise KeyError(f"no template {name!r} was compiled")
            return str(compiled(dict(context), helpers=self.helpers))
        except Exception as exc:
            self.render_failures += 1
            self._log.log(
                logging.ERROR,
                f"render:{name}",
                "template %s failed to render (%s); sending a plain message instead",
                self._sources.get(name, name),
                exc,
            )
            return (fallback or plain_message)(context)


def _error_position(text: str) -> int | None:
    """Where pybars' parser stopped in ``text`` (its message counts lines wrongly)."""
    try:
        compiler = Compiler()
        source = compiler.whitespace_control(text)
        _, (position, _) = compiler._handlebars(source).apply("template")
    except Exception:
        return None
    return int(position) if isinstance(position, int) and position < len(source) else None


def _describe(text: str, message: str) -> str:
    found = _POSITION.search(message)
    position = _error_position(text)
    if found is None or position is None:
        return message
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    near = (found.group(3) or "").strip()[:60]
    return f"line {line}, character {column}: syntax error" + (f" near {near!r}" if near else "")


__all__ = ["HELPERS", "TEMPLATES_DIR", "TemplateError", "TemplateSet", "default_template", "plain_message"]
