"""Each reload's script log in a file:
``<directory>/<YYYY-MM-DD>/<YYYY-MM-DD_HH-MM-SS>_appId=<app>_taskId=<task>.log``.

Butler's layout (butler.md §7.7): the date and time come from the datagram's log timestamp (the
scheduler's local time), the content is the log's lines joined with LF. Unlike Butler the log is
fetched for this alone (Butler fetched it only when another destination was on, and otherwise wrote
nothing). An alert without a script log writes nothing and is counted (``no_script_log``); a log of
fewer than 10 lines is written with a warning. A timestamp that is not ``YYYY-MM-DD HH:MM:SS...``
(it comes from the network) is replaced by the receive time, so a file name never leaves the folder.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sensebutler.alerts.script_log import split_lines
from sensebutler.events import Event
from sensebutler.events.alerts import ReloadAlert
from sensebutler.logs import RateLimitedLog
from sensebutler.runtime import Runtime
from sensebutler.sinks.base import Sink
from sensebutler.sinks.script_log_files.config import ScriptLogFilesSection
from sensebutler.sources.udp.sanitise import is_guid

log = logging.getLogger(__name__)

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
FEW_LINES = 10


def log_path(directory: Path, alert: ReloadAlert) -> Path:
    source = alert.source
    stamp = source.log_timestamp
    if not _STAMP.match(stamp):
        stamp = datetime.fromtimestamp(alert.time_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
    name = stamp[:19].replace("T", " ").replace(" ", "_").replace(":", "-")
    app_id = source.app_id if is_guid(source.app_id) else "-"
    task_id = source.task_id if is_guid(source.task_id) else "-"
    return directory / stamp[:10] / f"{name}_appId={app_id}_taskId={task_id}.log"


class ScriptLogFilesSink(Sink):
    name = "script_log_files"

    def __init__(self, section: ScriptLogFilesSection, base: Path) -> None:
        self.kinds = frozenset({ReloadAlert.kind})
        self.section = section
        directory = Path(section.directory)
        self.directory = directory if directory.is_absolute() else base / directory
        self.counts: Counter[str] = Counter()
        self._pending: set[asyncio.Task[None]] = set()
        self._log = RateLimitedLog(log, 60.0)

    def submit(self, event: Event) -> None:
        if not isinstance(event, ReloadAlert) or event.task_type != "reload":
            return
        if event.outcome not in self.section.outcomes:
            return
        if event.script_log is None:
            self.counts["no_script_log"] += 1
            return
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._write, event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _write(self, alert: ReloadAlert) -> None:
        assert alert.script_log is not None
        path = log_path(self.directory, alert)
        lines = split_lines(alert.script_log)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines), encoding="utf-8")
        except OSError as exc:
            self.counts["write_error"] += 1
            self._log.log(logging.ERROR, "write", "script log files: cannot write %s: %s", path, exc)
            return
        self.counts["written"] += 1
        if len(lines) < FEW_LINES:
            log.warning(
                "script log of task %r has only %d line(s): %s", alert.source.task_name, len(lines), path
            )

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=10)


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.script_log_files
    if not section.enable:
        return []
    return [ScriptLogFilesSink(section, Path.cwd())]
