"""Wheel build hook: compile the UDP hot path (``scripts/build_hotpath.py``) into the wheel.

The compiled package goes into the environment beside ``sensebutler`` (editable installs too),
never into ``src/``. When it cannot be built (no C compiler, an unsupported Python) the install
goes on and sensebutler runs in pure Python; ``SENSEBUTLER_PURE_PYTHON=1`` skips the build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class HotPathBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("SENSEBUTLER_PURE_PYTHON"):
            return
        out = Path(self.root) / "build" / "hotpath"
        script = Path(self.root) / "scripts" / "build_hotpath.py"
        done = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
        if done.returncode != 0:
            reason = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
            self.app.display_warning(
                "sensebutler: the compiled hot path was not built, so it runs in pure Python "
                "(same output, slower): " + " | ".join(reason)
            )
            return
        files = {str(path): str(path.relative_to(out)) for path in sorted(out.rglob("*")) if path.is_file()}
        build_data["force_include_editable" if version == "editable" else "force_include"].update(files)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        self.app.display_info(f"sensebutler: compiled hot path built ({len(files)} files)")
