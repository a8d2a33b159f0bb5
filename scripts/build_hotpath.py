"""Compile the UDP hot path with mypyc into ``<out>/_sensebutler_compiled`` (and its shared library).

Run by the wheel build hook (``hatch_build.py``) for ``pip install`` / ``make venv``; by hand:

    .venv/bin/python scripts/build_hotpath.py build/hotpath
    python3 scripts/build_hotpath.py --sources    # the files it is built from (for make)

The hot modules (``src/sensebutler/hotpath/manifest.py``) are copied to a temporary directory
under the compiled package's name, with imports between them rewritten, and compiled there, so
nothing is ever written into ``src/``. The package's ``__init__.py`` carries the hash of the
sources it was built from; ``sensebutler.hotpath`` uses it only while the sources still match.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

SRC = Path(__file__).resolve().parents[1] / "src"


def manifest() -> ModuleType:
    """``sensebutler/hotpath/manifest.py`` loaded on its own (sensebutler's dependencies may be absent)."""
    spec = importlib.util.spec_from_file_location("hotpath_manifest", SRC / "sensebutler/hotpath/manifest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage(work: Path, hot: ModuleType) -> list[str]:
    """The hot modules' sources as the compiled package in ``work``; their paths relative to it."""
    package = work / hot.PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'SOURCE_HASH = "{hot.source_hash(SRC)}"\n')
    paths = []
    for module, name in hot.MODULES.items():
        text = hot.source_path(SRC, module).read_text(encoding="utf-8")
        (package / f"{name}.py").write_text(hot.compiled_source(text), encoding="utf-8")
        paths.append(f"{hot.PACKAGE}/{name}.py")
    return paths


def build(out: Path) -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    hot = manifest()
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="sensebutler-hotpath-") as temporary:
        work = Path(temporary)
        paths = stage(work, hot)
        os.chdir(work)
        os.environ["MYPYPATH"] = str(SRC)
        flags = ["--follow-imports=silent", "--ignore-missing-imports", "--cache-dir", str(work / "cache")]
        extensions = mypycify([*paths, *flags], opt_level="3", group_name=hot.PACKAGE)
        setup(
            name=hot.PACKAGE,
            ext_modules=extensions,
            script_args=["-q", "build_ext", "--build-lib", str(out), "--build-temp", str(work / "temp")],
        )
        shutil.copy(work / hot.PACKAGE / "__init__.py", out / hot.PACKAGE / "__init__.py")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--sources":
        hot = manifest()
        print(*(hot.source_path(SRC, module).relative_to(SRC.parent) for module in hot.MODULES))
    else:
        build(Path(sys.argv[1]).resolve())
