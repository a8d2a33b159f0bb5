"""The UDP hot path (log datagram → event → InfluxDB line), compiled when it is built and current.

``pip install`` / ``make`` compile the modules of :data:`manifest.MODULES` with mypyc into the
separate top-level package ``_sensebutler_compiled`` in the environment (never into ``src/``); the
sources here stay the pure-Python twin, which gives identical output (``tests/hotpath``). The
compiled package is used only when it was built from exactly these sources (its ``SOURCE_HASH``);
otherwise pure Python runs, and :data:`STATUS` says why (the service logs it when it starts).
``SENSEBUTLER_PURE_PYTHON=1`` forces pure Python.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from sensebutler.hotpath.manifest import PACKAGE, source_hash
from sensebutler.sinks.influxdb import render
from sensebutler.sources.udp import parse_log

_SRC = Path(__file__).resolve().parents[2]
FORCED_PURE = "pure Python (SENSEBUTLER_PURE_PYTHON is set)"


def load_compiled(package: str = PACKAGE) -> tuple[ModuleType | None, str]:
    """The compiled package when it exists and matches the sources (else None), and what runs and why."""
    if os.environ.get("SENSEBUTLER_PURE_PYTHON"):
        return None, FORCED_PURE
    rebuild = "install a C compiler and run `make venv` or `pip install -e .` to compile it"
    try:
        compiled = importlib.import_module(package)
    except ImportError as exc:
        return None, f"pure Python: the compiled module was not built ({exc}); {rebuild}"
    if getattr(compiled, "SOURCE_HASH", None) != source_hash(_SRC):
        return None, (
            f"pure Python: the compiled module {package} was built from other sources than {_SRC}; "
            "rebuild it with `make venv` or `pip install -e .`"
        )
    try:
        importlib.import_module(f"{package}.parse_log")
        importlib.import_module(f"{package}.render")
    except ImportError as exc:
        return None, f"pure Python: the compiled module {package} does not load ({exc}); {rebuild}"
    return compiled, f"compiled ({package}, mypyc)"


_compiled, STATUS = load_compiled()
#: True when the compiled twin runs
COMPILED = _compiled is not None
parse_log_datagram = parse_log.parse_log_datagram
LineRenderer: type[render.LineRenderer] = render.LineRenderer
if _compiled is not None:
    parse_log_datagram = _compiled.parse_log.parse_log_datagram
    LineRenderer = _compiled.render.LineRenderer

__all__ = ["COMPILED", "FORCED_PURE", "STATUS", "LineRenderer", "load_compiled", "parse_log_datagram"]
