"""sensebutler: monitoring, alerting and integration for Qlik Sense Enterprise on Windows."""

import sys
from importlib.metadata import PackageNotFoundError, version

# httpx imports its command-line client (rich, pygments, click: ~4.5 MB of memory in every
# sensebutler process) unless that import fails, in which case ``httpx.main`` only says it cannot
# run. sensebutler never runs httpx's command line, so it is not loaded.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

try:
    __version__ = version("sensebutler")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
