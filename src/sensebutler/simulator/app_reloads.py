"""Reloads through the engine API (QIX ``DoReload``), as Butler's app reload starts them.

Unlike a task run there is no scheduler, execution session or execution result: the engine runs
the script, keeps the app loaded meanwhile, writes the script log to its ``Log\\Script`` folder and,
on success, the app's ``lastReloadTime`` moves (QRS shows it at once). The script log has the same
form as a task's (:func:`~sensebutler.simulator.scriptlog.render_script_log`) and is written under
``<state dir>/Log/<node>/Script/``, named as the engine names it: ``<app id>.<UTC time>.<hex>.log``.
A reload fails while the app's ``reload_fails`` is set (scenario ``apps[].reload_fails`` or
:meth:`~sensebutler.simulator.control.SiteControl.set_app_reload_failing`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

from sensebutler.simulator.ids import guid
from sensebutler.simulator.model import App, AppReload, ServerNode, Site
from sensebutler.simulator.scriptlog import render_script_log
from sensebutler.simulator.timefmt import compact_utc, utcnow

log = logging.getLogger(__name__)

#: how long a reload through the engine takes unless told otherwise (seconds)
DEFAULT_DURATION = 0.2
#: reloads kept in ``Site.app_reloads`` (oldest dropped first)
HISTORY = 500


class AppReloader:
    def __init__(
        self, site: Site, log_root: Path, rng: random.Random, duration: float = DEFAULT_DURATION
    ) -> None:
        self.site = site
        self.log_root = log_root
        self.rng = rng
        self.duration = duration

    def script_log_path(self, node: ServerNode, file_name: str) -> Path:
        return self.log_root / node.short_name / "Script" / file_name

    async def reload(
        self, app: App, node: ServerNode, *, user: str, partial: bool = False, mode: int = 0
    ) -> AppReload:
        """Run a reload of ``app`` on ``node``'s engine as ``user``; returns what happened."""
        start = utcnow()
        engine = node.engine
        engine.begin_reload(app.id, start)
        try:
            await asyncio.sleep(self.duration)
        finally:
            stop = utcnow()
            engine.end_reload(app.id, stop)
        success = not app.reload_fails
        reload_id = guid(self.rng)
        script = render_script_log(
            self.rng,
            app_name=app.name,
            reload_id=reload_id,
            version=self.site.scenario.product_version,
            executed_by=user,
            start=start,
            stop=stop,
            outcome="success" if success else "failed",
            partial=partial,
        )
        file_name = f"{app.id}.{compact_utc(start).split('+')[0]}.{self.rng.getrandbits(80):020X}.log"
        path = self.script_log_path(node, file_name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(script.full, encoding="utf-8", newline="")
        except OSError as exc:
            log.warning("simulator: cannot write script log %s: %s", path, exc)
        if success:
            app.last_reload_time = stop
            app.touch(user, stop)
        result = AppReload(
            id=reload_id,
            app=app,
            node=node,
            user=user,
            start=start,
            stop=stop,
            success=success,
            partial=partial,
            mode=mode,
            script_log_file=f"C:\\ProgramData\\Qlik\\Sense\\Log\\Script\\{file_name}",
            script_log=script.full,
        )
        self.site.app_reloads.append(result)
        del self.site.app_reloads[:-HISTORY]
        return result
