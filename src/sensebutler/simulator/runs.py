"""Task executions, as the Sense scheduler runs them.

Starting a task creates an execution session (status Triggered, then Started) and an execution
result; the app is loaded in the executing node's engine while a reload or preload runs. After the
run's duration the task finishes as success, failure or abort: the execution result gets its stop
time, duration, details and (reloads) its script log, ``app.lastReloadTime`` moves on success, the
execution session disappears, and only then does the scheduler log what happened, so a tool reacting
to the UDP datagram finds QRS already consistent with it.

A task with ``maxRetries`` runs again after a failed attempt, up to that many times, in the same
execution session (its ``retries`` counts them). Every attempt has its own execution result (same
``executionID``, its own script log); a retried attempt's result keeps status 10 (Retry), which is
what the task shows as its last result until the next attempt is triggered. Each failed attempt logs
the engine's reload failure; ``Max retries reached`` is logged only when the last attempt fails, so
Butler's failed-task appender, which filters on that text, sends one datagram per run, after the
last attempt (we know of no public record of the exact per-attempt scheduler lines: these follow
the appender filters in shared/reference/qlik-sense-apis.md §5.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
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
        #: seconds a failed attempt waits before the next one (Sense waits longer; tests need short)
        self.retry_delay = 0.2

    def listen(self, listener: Listener) -> None:
        """``listener(phase, task, result)`` with phase ``started``, ``retrying`` (an attempt failed
        and another follows) or ``finished``."""
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
        outcome: str | Sequence[str] | None = None,
        duration: float | None = None,
        manual: bool = True,
    ) -> ExecutionSession:
        """Start ``task`` now; raises :class:`TaskBusy` when it is already running.

        ``outcome`` is every attempt's outcome, or one per attempt (the last one repeats); None draws
        each attempt from the task's ``fail_rate``. A failed attempt is retried while the task has
        ``maxRetries`` left.
        """
        if task.session is not None:
            raise TaskBusy(task.id)
        planned = [outcome] if isinstance(outcome, str) else list(outcome or [])
        for item in planned:
            if item not in OUTCOMES:
                raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {item!r}")
        if duration is None:
            duration = task.duration * self.rng.uniform(0.8, 1.2)
        now = utcnow()
        node = self._executing_node()
        session_id = guid(self.rng)
        session = ExecutionSession(
            id=session_id,
            created=now,
            modified=now,
            modified_by=SCHEDULER_USER,
            task=task,
            node=node,
            result=self._trigger(task, session_id, node, user),
            user=user,
        )
        task.session = session
        task.is_manually_triggered = manual
        self.site.execution_sessions[session.id] = session
        self._finished[session.id] = asyncio.get_running_loop().create_future()

        def outcome_of(attempt: int) -> str:
            if planned:
                return planned[min(attempt, len(planned) - 1)]
            return "failed" if self.rng.random() < task.fail_rate else "success"

        self._runs[session.id] = asyncio.create_task(self._run(session, outcome_of, duration))
        self._notify("started", task, session.result)
        return session

    def _trigger(self, task: Task, session_id: str, node: ServerNode, user: str) -> ExecutionResult:
        """A new execution result (one per attempt), now the task's last one; logs the trigger."""
        now = utcnow()
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
        self._detail(result, self.rng, "Changing task state to Triggered", now)
        self._detail(result, self.rng, "Trying to start task. Sending task to slave scheduler", now)
        task.last_result = result
        self.site.execution_results[result.id] = result
        props = self._properties(task, session_id, user)
        self._write(
            self.site.central, "INFO", TASK_SESSION_LOGGER, "Execution State Change to Triggered", props
        )
        return result

    async def _run(
        self, session: ExecutionSession, outcome_of: Callable[[int], str], duration: float
    ) -> None:
        try:
            attempt = 0
            while True:
                await asyncio.sleep(_START_DELAY)
                self._begin(session)
                await asyncio.sleep(max(0.0, duration))
                outcome = outcome_of(attempt)
                if outcome != "failed" or attempt >= session.task.max_retries:
                    self._finish(session, outcome)
                    return
                self._retry(session)
                await asyncio.sleep(self.retry_delay)
                attempt += 1
                session.result = self._trigger(session.task, session.id, session.node, session.user)
                session.touch(SCHEDULER_USER)
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

    def _end_attempt(self, session: ExecutionSession, outcome: str, now: datetime) -> None:
        """Stop time, script log and engine state of the attempt that just ended."""
        task, result = session.task, session.result
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
            session.node.engine.end_reload(task.app.id, now)

    def _retry(self, session: ExecutionSession) -> None:
        """A failed attempt with retries left: its result says Retry (10) until the next one starts.

        The engine's failure is logged for every attempt (Butler SOS's scheduler appender sends each
        one); ``Max retries reached``, which Butler's failed-task appender waits for, only after the
        last attempt, so Butler gets one failure datagram per run.
        """
        task, result, now = session.task, session.result, utcnow()
        self._detail(result, self.rng, "Changing task state from Started to Retry", now, _ERROR)
        result.status = Status.RETRY
        self._end_attempt(session, "failed", now)
        session.retries += 1
        task.touch(SCHEDULER_USER, now)
        props = self._properties(task, session.id, session.user)
        self._write(session.node, "ERROR", SLAVE_LOGGERS[task.kind], _FAILURE_MESSAGES[task.kind], props)
        self._write(self.site.central, "INFO", TASK_SESSION_LOGGER, "Execution State Change to Retry", props)
        self._notify("retrying", task, result)

    def _finish(self, session: ExecutionSession, outcome: str) -> None:
        task, result, now = session.task, session.result, utcnow()
        if outcome == "aborted":
            session.abort_reason = 1
        self._final_details(result, outcome, now)
        self._end_attempt(session, outcome, now)
        if task.app is not None and task.kind == "reload" and outcome == "success":
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
            done = [
                result
                for result in self.site.execution_results.values()
                if result.execution_id == session_id and result.finished and result.status != Status.RETRY
            ]
            if not done:
                raise KeyError(session_id)
            return max(done, key=lambda result: result.created)
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
