"""What the compiled hot path is built from, shared by the build (``scripts/build_hotpath.py``) and
the import-time check. Standard library only: the build loads this file on its own, before
sensebutler's dependencies are installed.

The modules are compiled as copies under :data:`PACKAGE` (imports between them rewritten), so a
compiled module can never take the place of its source: the sources stay the pure-Python twin.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: the top-level package the compiled copies are installed as
PACKAGE = "_sensebutler_compiled"
#: dotted module → its name inside :data:`PACKAGE`; ordered so that the hash is stable
MODULES: dict[str, str] = {
    "sensebutler.sources.udp.sanitise": "sanitise",
    "sensebutler.sources.udp.timestamps": "timestamps",
    "sensebutler.sources.udp.parse_log": "parse_log",
    "sensebutler.sinks.influxdb.line_protocol": "line_protocol",
    "sensebutler.sinks.influxdb.render": "render",
}


def source_path(src: Path, module: str) -> Path:
    """The ``.py`` file of ``module`` under ``src`` (the directory that holds ``sensebutler``)."""
    return src.joinpath(*module.split(".")).with_suffix(".py")


def source_hash(src: Path) -> str:
    """SHA-256 over the hot modules' sources (and this manifest's module list)."""
    digest = hashlib.sha256()
    for module in MODULES:
        digest.update(module.encode())
        digest.update(source_path(src, module).read_bytes())
    return digest.hexdigest()


def compiled_source(text: str) -> str:
    """A hot module's source with its imports of the other hot modules pointed into :data:`PACKAGE`."""
    for module, name in MODULES.items():
        text = text.replace(f"from {module} import", f"from {PACKAGE}.{name} import")
    return text


__all__ = ["MODULES", "PACKAGE", "compiled_source", "source_hash", "source_path"]
