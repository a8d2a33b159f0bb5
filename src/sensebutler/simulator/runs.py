"""Task executions, as the Sense scheduler runs them.

Starting a task creates an execution session (status Triggered, then Started) and an execution
result; the app is loaded in the executing node's engine while a reload or preload runs. After the
run's duration the task finishes as success, failure or abort: the execution result gets its stop
time, duration, details and (reloads) its script log, ``app.lastReloadTime`` moves on success, the
execution session disappears, and only then does the scheduler log what happened, so a tool reacting
to the UDP datagram finds QRS already consistent with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sensebutler.simulator.ids import guid
from sensebutler.simulator.model import (
    SCHEDULER_USER,
    ExecutionDetail,
    ExecutionResult,
    ExecutionSession,
    ServerNode,
    Site,
    Status,
    Task,
)
from sensebutler.simulator.scriptlog import render_script_log
from sensebutler.simulator.timefmt import compact_utc, utcnow
from sensebutler.simulator.udp import SiteLogs

log = logging.getLogger(__name__)

OUTCOMES = ("success", "failed", "aborted")
TASK_SESSION_LOGGER = "System.Scheduler.Scheduler.Master.Task.TaskSession"
SLAVE_LOGGERS = {
    "reload": "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask",
    "preload": "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask",
    "distribute": "System.Scheduler.Scheduler.Slave.Tasks.ReloadTask",
    "external_program": "System.Scheduler.Scheduler.Slave.Tasks.ExternalProgramTask",
    "user_sync": "System.Scheduler.Scheduler.Slave.Tasks.UserSyncTask",
}
_FAILURE_MESSAGES = {
    "reload": "Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.",
    "preload": "Message from ReloadProvider: Preload failed in Engine. Check engine logs.",
    "distribute": "Distribution of the app failed: the target deployment did not respond",
    "external_program": "External program exited with code 1",
    "user_sync": "User sync failed: the LDAP server did not respond (timeout after 120 s)",
}
FINAL_STATUS = {"success": Status.FINISHED_SUCCESS, "failed": Status.FINISHED_FAIL, "aborted": Status.ABORTED}
FINAL_NAMES = {"success": "FinishedSuccess", "failed": "FinishedFail", "aborted": "Aborted"}
_START_DELAY = 0.05
_INFO, _ERROR = 2, 0

Listener = Callable[[str, Task, ExecutionResult], None]


class TaskBusy(RuntimeError):
    """The task already has an execution session (HTTP 409)."""


class TaskRunner:
    def __init__(self, site: Site, logs: SiteLogs, rng: random.Random) -> None:
        self.site = site
        self.logs = logs
        self.rng = rng
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._finished: dict[str, asyncio.Future[ExecutionResult]] = {}
        self._listeners: list[Listener] = []
        self._next_node = 0
        self.schedule_scale = 1.0

    def listen(self, listener: Listener) -> None:
        """``listener(phase, task, result)`` with phase ``started`` or ``finished``."""
        self._listeners.append(listener)

    def _notify(self, phase: str, task: Task, result: ExecutionResult) -> None:
        for listener in self._listeners:
            listener(phase, task, result)

    # -- building blocks -----------------------------------------------------------------------

    def _executing_node(self) -> ServerNode:
        candidates = [node for node in self.site.nodes if node.scheduler and node.services.get("scheduler")]
        running = [node for node in candidates if node.services["scheduler"].running] or candidates
        node = running[self._next_node % len(running)]
        self._next_node += 1
        return node

    @staticmethod
    def _detail(
        result: ExecutionResult, rng: random.Random, message: str, when: datetime, kind: int = _INFO
    ) -> None:
        result.details.append(ExecutionDetail(id=guid(rng), details_type=kind, message=message, created=when))

    def _final_details(self, result: ExecutionResult, outcome: str, when: datetime) -> None:
        if outcome == "aborted":
            steps = (("Started", "AbortInitiated"), ("AbortInitiated", "Aborting"), ("Aborting", "Aborted"))
            for before, after in steps:
                self._detail(result, self.rng, f"Changing task state from {before} to {after}", when)
        else:
            kind = _INFO if outcome == "success" else _ERROR
            self._detail(
                result, self.rng, f"Changing task state from Started to {FINAL_NAMES[outcome]}", when, kind
            )
        result.status = FINAL_STATUS[outcome]

    def _properties(self, task: Task, session_id: str, user: str) -> dict[str, str]:
        directory, _, user_id = user.partition("\\")
        scheduled = user == SCHEDULER_USER
        return {
            "TaskName": task.name,
            "AppName": task.app.name if task.app else "",
            "User": user,
            "TaskId": task.id,
            "AppId": task.app.id if task.app else "",
            "ExecutionId": session_id,
            "UserDirectory": "" if scheduled else directory,
            "UserId": "" if scheduled else user_id,
        }

    def _write(self, host: ServerNode, level: str, logger: str, message: str, props: dict[str, str]) -> None:
        self.logs(host.short_name, "scheduler").write(level, logger, message, properties=props)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(
        self,
        task: Task,
        *,
        user: str = SCHEDULER_USER,
        outcome: str | None = None,
        duration: float | None = None,
        manual: bool = True,
    ) -> ExecutionSession:
        """Start ``task`` now; raises :class:`TaskBusy` when it is already running."""
        if task.session is not None:
            raise TaskBusy(task.id)
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        if outcome is None:
            outcome = "failed" if self.rng.random() < task.fail_rate else "success"
        if duration is None:
            duration = task.duration * self.rng.uniform(0.8, 1.2)
        now = utcnow()
        node = self._executing_node()
        session_id = guid(self.rng)
        result = ExecutionResult(
            id=guid(self.rng),
            created=now,
            modified=now,
            modified_by=SCHEDULER_USER,
            task=task,
            execution_id=session_id,
            node=node,
            status=Status.TRIGGERED,
            start=now,
        )
        session = ExecutionSession(
            id=session_id,
            created=now,
            modified=now,
            modified_by=SCHEDULER_USER,
            task=task,
            node=node,
            result=result,
            user=user,
        )
        self._detail(result, self.rng, "Changing task state to Triggered", now)
        self._detail(result, self.rng, "Trying to start task. Sending task to slave scheduler", now)
        task.session = session
        task.last_result = result
        task.is_manually_triggered = manual
        self.site.execution_sessions[session.id] = session
        self.site.execution_results[result.id] = result
        self._finished[session.id] = asyncio.get_running_loop().create_future()
        props = self._properties(task, session.id, user)
        self._write(
            self.site.central, "INFO", TASK_SESSION_LOGGER, "Execution State Change to Triggered", props
        )
        self._runs[session.id] = asyncio.create_task(self._run(session, outcome, duration))
        self._notify("started", task, result)
        return session

    async def _run(self, session: ExecutionSession, outcome: str, duration: float) -> None:
        try:
            await asyncio.sleep(_START_DELAY)
            self._begin(session)
            await asyncio.sleep(max(0.0, duration))
            self._finish(session, outcome)
        finally:
            self._runs.pop(session.id, None)

    def _begin(self, session: ExecutionSession) -> None:
        task, result, now = session.task, session.result, utcnow()
        result.status = Status.STARTED
        result.start = now
        self._detail(result, self.rng, "Changing task state from Triggered to Started", now)
        if task.app is not None and task.kind in ("reload", "preload"):
            session.node.engine.begin_reload(task.app.id, now)
        if task.kind == "reload":
            result.file_reference_id = guid(self.rng)
            result.script_log_location = (
                f"{session.node.short_name}\\Script\\{task.app.id if task.app else task.id}."
                f"{compact_utc(now)}.{self.rng.getrandbits(80):020X}.log"
            )
            self._detail(result, self.rng, "Reference to scriptlog added", now)
        props = self._properties(task, session.id, session.user)
        self._write(
            self.site.central, "INFO", TASK_SESSION_LOGGER, "Execution State Change to Started", props
        )

    def _finish(self, session: ExecutionSession, outcome: str) -> None:
        task, result, node, now = session.task, session.result, session.node, utcnow()
        if outcome == "aborted":
            session.abort_reason = 1
        self._final_details(result, outcome, now)
        result.stop = now
        result.modified = now
        if task.kind == "reload":
            app = task.app
            script = render_script_log(
                self.rng,
                app_name=app.name if app else task.name,
                reload_id=result.id,
                version=self.site.scenario.product_version,
                executed_by=session.user,
                start=result.start,
                stop=now,
                outcome=outcome,
                partial=task.partial,
            )
            result.script_log_partial = script.head
            result.script_log = script.full
        result.finished = True
        if task.app is not None and task.kind in ("reload", "preload"):
            node.engine.end_reload(task.app.id, now)
            if task.kind == "reload" and outcome == "success":
                task.app.last_reload_time = now
                task.app.touch(SCHEDULER_USER, now)
        task.touch(SCHEDULER_USER, now)
        if task.schedule_every is not None and task.enabled:
            task.next_execution = now + timedelta(seconds=task.schedule_every * self.schedule_scale)
        task.session = None
        self.site.execution_sessions.pop(session.id, None)
        self._log_outcome(session, outcome)
        self._notify("finished", task, result)
        future = self._finished.pop(session.id, None)
        if future is not None and not future.done():
            future.set_result(result)

    def _log_outcome(self, session: ExecutionSession, outcome: str) -> None:
        task, node, master = session.task, session.node, self.site.central
        props = self._properties(task, session.id, session.user)
        slave = SLAVE_LOGGERS[task.kind]
        if outcome == "success":
            self._write(
                master, "INFO", TASK_SESSION_LOGGER, "Execution State Change to FinishedSuccess", props
            )
        elif outcome == "aborted":
            for state in ("AbortInitiated", "Aborting", "Aborted"):
                self._write(master, "INFO", TASK_SESSION_LOGGER, f"Execution State Change to {state}", props)
            self._write(master, "WARN", TASK_SESSION_LOGGER, "Task finished with state Aborted", props)
        else:
            self._write(node, "ERROR", slave, _FAILURE_MESSAGES[task.kind], props)
            self._write(master, "INFO", TASK_SESSION_LOGGER, "Execution State Change to FinishedFail", props)
            self._write(master, "WARN", TASK_SESSION_LOGGER, "Task finished with state FinishedFail", props)
            if task.kind == "preload":
                message = f"Failed to start session for preload of app {props['AppId']}"
            else:
                message = f"Max retries reached ({task.max_retries}). Task {task.name} failed."
            self._write(master, "ERROR", TASK_SESSION_LOGGER, message, props)
        if task.kind == "distribute":
            self._write(node, "INFO", slave, "Exiting execute of Distribute task request.", props)

    # -- waiting and history ----------------------------------------------------------------------

    async def wait(self, session_id: str, timeout: float | None = None) -> ExecutionResult:
        """The execution result once the session has finished."""
        future = self._finished.get(session_id)
        if future is None:
            for result in self.site.execution_results.values():
                if result.execution_id == session_id and result.finished:
                    return result
            raise KeyError(session_id)
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    def seed_history(self, histories: dict[str, str]) -> None:
        """Give tasks a finished last execution in the past (``task id -> outcome``), without logging."""
        now = utcnow()
        for task_id, outcome in histories.items():
            task = self.site.tasks[task_id]
            stop = now - timedelta(hours=self.rng.uniform(1, 30))
            start = stop - timedelta(seconds=task.duration * self.rng.uniform(5, 40))
            node = self._executing_node()
            result = ExecutionResult(
                id=guid(self.rng),
                created=start,
                modified=stop,
                modified_by=SCHEDULER_USER,
                task=task,
                execution_id=guid(self.rng),
                node=node,
                status=Status.TRIGGERED,
                start=start,
                stop=stop,
            )
            self._detail(result, self.rng, "Changing task state to Triggered", start)
            self._detail(result, self.rng, "Trying to start task. Sending task to slave scheduler", start)
            self._detail(result, self.rng, "Changing task state from Triggered to Started", start)
            if task.kind == "reload":
                result.file_reference_id = guid(self.rng)
                result.script_log_location = (
                    f"{node.short_name}\\Script\\{task.app.id if task.app else task.id}."
                    f"{compact_utc(start)}.{self.rng.getrandbits(80):020X}.log"
                )
                self._detail(result, self.rng, "Reference to scriptlog added", start)
                script = render_script_log(
                    self.rng,
                    app_name=task.app.name if task.app else task.name,
                    reload_id=result.id,
                    version=self.site.scenario.product_version,
                    executed_by=SCHEDULER_USER,
                    start=start,
                    stop=stop,
                    outcome=outcome,
                    partial=task.partial,
                )
                result.script_log_partial, result.script_log = script.head, script.full
            self._final_details(result, outcome, stop)
            result.finished = True
            task.last_result = result
            self.site.execution_results[result.id] = result
            if task.app is not None and task.kind == "reload" and outcome == "success":
                task.app.last_reload_time = max(task.app.last_reload_time, stop)

    async def close(self) -> None:
        for run in list(self._runs.values()):
            run.cancel()
        for run in list(self._runs.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await run
        self._runs.clear()
