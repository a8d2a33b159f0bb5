"""QRS task endpoints: task lists of every type, execution results and sessions, starting tasks, and
reload script logs through both APIs (pre- and post-May-2025). A finished reload's log can be
downloaded ``delay`` seconds after the task ended (Sense writes it out after the end); until then the
download answers 404. A running reload's partial log is downloadable ``delay`` after the reference
call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sensebutler.simulator import qrs_schema, shapes
from sensebutler.simulator.ids import EMPTY_GUID, guid
from sensebutler.simulator.model import ExecutionResult, Site, Task
from sensebutler.simulator.qrs_api import STATUS_ENUM, TASK_TYPE_ENUM, Collection, QrsApi
from sensebutler.simulator.runs import TaskBusy, TaskRunner
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.web import empty_response, json_response, text_response

TICKET_LIFETIME = 600.0


@dataclass(frozen=True, slots=True)
class _Ticket:
    text: str
    ready_at: float
    expires_at: float


class ScriptLogTickets:
    """Download tickets handed out by the script-log reference calls."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self._clock = clock
        self._tickets: dict[str, _Ticket] = {}

    def issue(self, ticket: str, text: str, *, ended_ago: float = 0.0) -> None:
        """``ended_ago``: seconds since the task ended (0 for a running one)."""
        now = self._clock()
        self._tickets = {key: value for key, value in self._tickets.items() if value.expires_at > now}
        ready_at = now + max(0.0, self.delay - ended_ago)
        self._tickets[ticket] = _Ticket(text, ready_at, now + TICKET_LIFETIME)

    def fetch(self, ticket: str) -> str | None:
        """The log text, or None while the ticket is not ready yet, unknown or expired."""
        found = self._tickets.get(ticket.lower())
        now = self._clock()
        if found is None or now < found.ready_at or now >= found.expires_at:
            return None
        return found.text


def _enums() -> dict[str, dict[str, int]]:
    return {"taskType": TASK_TYPE_ENUM, "status": STATUS_ENUM}


def task_collections(site: Site) -> dict[str, Collection]:
    def of_kind(*kinds: str) -> Callable[[], list[Task]]:
        return lambda: [task for task in site.tasks.values() if task.kind in kinds]

    def lookup(*kinds: str) -> Callable[[str], Task | None]:
        def find(task_id: str) -> Task | None:
            task = site.tasks.get(task_id)
            return task if task is not None and task.kind in kinds else None

        return find

    def results() -> list[ExecutionResult]:
        return [result for result in site.execution_results.values()]

    return {
        "task": Collection(
            items=lambda: site.tasks.values(),
            full=shapes.task_full,
            schema=qrs_schema.TASK,
            condensed=shapes.task_condensed,
            enums=_enums(),
            lookup=site.tasks.get,
        ),
        # Butler reads preload and distribute tasks through /reloadtask/{id} too.
        "reloadtask": Collection(
            items=of_kind("reload"),
            full=shapes.task_full,
            schema=qrs_schema.RELOAD_TASK,
            condensed=shapes.task_condensed,
            enums=_enums(),
            lookup=lookup("reload", "preload", "distribute"),
        ),
        "externalprogramtask": Collection(
            items=of_kind("external_program"),
            full=shapes.task_full,
            schema=qrs_schema.EXTERNAL_PROGRAM_TASK,
            condensed=shapes.task_condensed,
            enums=_enums(),
            lookup=lookup("external_program"),
        ),
        "usersynctask": Collection(
            items=of_kind("user_sync"),
            full=shapes.task_full,
            schema=qrs_schema.USER_SYNC_TASK,
            condensed=shapes.task_condensed,
            enums=_enums(),
            lookup=lookup("user_sync"),
        ),
        "executionresult": Collection(
            items=results,
            full=shapes.result_full,
            schema=qrs_schema.RESULT,
            condensed=shapes.result_condensed,
            enums=_enums(),
            lookup=site.execution_results.get,
        ),
        "executionsession": Collection(
            items=lambda: list(site.execution_sessions.values()),
            full=shapes.execution_session,
            schema=qrs_schema.EXECUTION_SESSION,
            lookup=site.execution_sessions.get,
        ),
    }


class TaskRoutes:
    def __init__(self, qrs: QrsApi, runner: TaskRunner, tickets: ScriptLogTickets) -> None:
        self.site = qrs.site
        self.runner = runner
        self.tickets = tickets
        router = qrs.router
        router.add("POST", "/qrs/task/start/many", self.start_many)
        router.add("POST", "/qrs/task/start/synchronous", self.start_by_name_synchronous)
        router.add("POST", "/qrs/task/start", self.start_by_name)
        router.add("POST", "/qrs/task/{id}/start/synchronous", self.start_synchronous)
        router.add("POST", "/qrs/task/{id}/start", self.start)
        router.add("GET", "/qrs/reloadtask/{id}/scriptlog", self.script_log_reference)
        router.add("GET", "/qrs/reloadtask/{id}/scriptlogfile", self.script_log_file_reference)
        router.add("GET", "/qrs/download/reloadtask/{ticket}/{filename}", self.download)

    # -- starting ---------------------------------------------------------------------------------

    def _launch(self, request: Request, task: Task) -> str | Response:
        """Start ``task`` as the requesting user; the session id, the empty GUID, or an error response."""
        if not task.enabled:
            return EMPTY_GUID
        try:
            session = self.runner.start(task, user=request.state.qlik_user, manual=True)
        except TaskBusy:
            return text_response(f"Task {task.id} is already running", 409)
        return session.id

    async def start(self, request: Request, params: dict[str, str]) -> Response:
        task = self.site.tasks.get(params["id"].lower())
        if task is None:
            return empty_response(404)
        outcome = self._launch(request, task)
        return outcome if isinstance(outcome, Response) else empty_response(204)

    async def start_synchronous(self, request: Request, params: dict[str, str]) -> Response:
        task = self.site.tasks.get(params["id"].lower())
        if task is None:
            return empty_response(404)
        outcome = self._launch(request, task)
        return outcome if isinstance(outcome, Response) else json_response({"value": outcome}, 201)

    def _by_name(self, request: Request) -> Task | Response:
        name = request.query_params.get("name")
        if not name:
            return text_response("Missing parameter value(s)", 400)
        task = next((task for task in self.site.tasks.values() if task.name == name), None)
        return empty_response(404) if task is None else task

    async def start_by_name(self, request: Request, params: dict[str, str]) -> Response:
        task = self._by_name(request)
        if isinstance(task, Response):
            return task
        outcome = self._launch(request, task)
        return outcome if isinstance(outcome, Response) else empty_response(204)

    async def start_by_name_synchronous(self, request: Request, params: dict[str, str]) -> Response:
        task = self._by_name(request)
        if isinstance(task, Response):
            return task
        outcome = self._launch(request, task)
        return outcome if isinstance(outcome, Response) else json_response({"value": outcome}, 201)

    async def start_many(self, request: Request, params: dict[str, str]) -> Response:
        try:
            body: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return text_response("The request body is not valid JSON", 400)
        if not isinstance(body, list) or not all(isinstance(item, str) for item in body):
            return text_response("Expected a JSON array of task ids", 400)
        tasks = [self.site.tasks.get(item.lower()) for item in body]
        if any(task is None for task in tasks):
            return empty_response(404)
        for task in tasks:
            if task is not None and task.session is None:
                self._launch(request, task)
        return empty_response(204)

    # -- script logs --------------------------------------------------------------------------------

    def _reference(self, task_id: str, match: Callable[[ExecutionResult], bool]) -> Response:
        task = self.site.tasks.get(task_id.lower())
        if task is None or task.kind != "reload":
            return empty_response(404)
        result = next(
            (
                r
                for r in self.site.execution_results.values()
                if r.task is task and r.file_reference_id != EMPTY_GUID and match(r)
            ),
            None,
        )
        if result is None:
            return empty_response(404)
        ticket = guid(self.runner.rng)
        if result.finished:
            ended_ago = (utcnow() - result.stop).total_seconds()
            self.tickets.issue(ticket, result.script_log, ended_ago=ended_ago)
        else:
            self.tickets.issue(ticket, result.script_log_partial)
        return json_response({"value": ticket})

    async def script_log_reference(self, request: Request, params: dict[str, str]) -> Response:
        """Sense before May 2025: ``?fileReferenceId=<fileReferenceID of the execution result>``."""
        wanted = request.query_params.get("fileReferenceId") or request.query_params.get("filereferenceid")
        if not wanted:
            return text_response("Missing parameter value(s)", 400)
        return self._reference(params["id"], lambda result: result.file_reference_id == wanted.lower())

    async def script_log_file_reference(self, request: Request, params: dict[str, str]) -> Response:
        """Sense May 2025 and later: ``?executionResultId=<id of the execution result>``."""
        wanted = request.query_params.get("executionResultId") or request.query_params.get(
            "executionresultid"
        )
        if not wanted:
            return text_response("Missing parameter value(s)", 400)
        return self._reference(params["id"], lambda result: result.id == wanted.lower())

    async def download(self, request: Request, params: dict[str, str]) -> Response:
        text = self.tickets.fetch(params["ticket"])
        if text is None:
            return empty_response(404)
        response = text_response(text)
        response.headers["Content-Disposition"] = f'attachment; filename="{params["filename"]}"'
        return response
