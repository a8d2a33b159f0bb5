"""``script_log_files:`` — keep the script log of failed reloads on disk (Butler's
``scriptLog.storeOnDisk.clientManaged.reloadTaskFailure``), on its own switch."""

from __future__ import annotations

from typing import Literal

from sensebutler.config.base import FeatureSection


class ScriptLogFilesSection(FeatureSection):
    directory: str = "script_logs"
    #: which reload outcomes are kept (Butler: failed only)
    outcomes: list[Literal["failed", "aborted", "success"]] = ["failed"]
    required_when_enabled = ("directory",)
