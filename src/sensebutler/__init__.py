"""sensebutler: monitoring, alerting and integration for Qlik Sense Enterprise on Windows."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sensebutler")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
