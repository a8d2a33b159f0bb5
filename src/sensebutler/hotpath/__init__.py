"""The UDP hot path (log datagram → event → InfluxDB line), compiled when it is built and current.

``pip install`` / ``make`` compile the modules of :data:`manifest.MODULES` with mypyc into the
separate top-level package ``_sensebutler_compiled`` in the environment (never into ``src/``); the
sources here stay the pure-Python twin, which gives identical output (``tests/hotpath``). The
compiled package is used only when it was built from exactly these sources (its ``SOURCE_HASH``);
otherwise one WARNING says why and pure Python runs. ``SENSEBUTLER_PURE_PYTHON=1`` forces pure.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from types import ModuleType

from sensebutler.hotpath.manifest import PACKAGE, source_hash
from sensebutler.sinks.influxdb import render
from sensebutler.sources.udp import parse_log

log = logging.getLogger(__name__)
_SRC = Path(__file__).resolve().parents[2]


def load_compiled(package: str = PACKAGE) -> ModuleType | None:
    """The compiled package when it exists and matches the sources, else None (and why, logged)."""
    if os.environ.get("SENSEBUTLER_PURE_PYTHON"):
        log.info("hot path: pure Python (SENSEBUTLER_PURE_PYTHON is set)")
        return None
    try:
        compiled = importlib.import_module(package)
    except ImportError as exc:
        log.info("hot path: pure Python (no compiled module: %s)", exc)
        return None
    if getattr(compiled, "SOURCE_HASH", None) != source_hash(_SRC):
        log.warning(
            "hot path: pure Python: the compiled module %s was built from other sources than %s; "
            "rebuild it with `make venv` or `pip install -e .`",
            package,
            _SRC,
        )
        return None
    try:
        importlib.import_module(f"{package}.parse_log")
        importlib.import_module(f"{package}.render")
    except ImportError as exc:
        log.warning("hot path: pure Python: the compiled module %s does not load: %s", package, exc)
        return None
    return compiled


_compiled = load_compiled()
#: True when the compiled twin runs
COMPILED = _compiled is not None
parse_log_datagram = parse_log.parse_log_datagram
LineRenderer: type[render.LineRenderer] = render.LineRenderer
if _compiled is not None:
    parse_log_datagram = _compiled.parse_log.parse_log_datagram
    LineRenderer = _compiled.render.LineRenderer

__all__ = ["COMPILED", "LineRenderer", "load_compiled", "parse_log_datagram"]
