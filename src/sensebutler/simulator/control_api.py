"""The simulator's control API: plain HTTP with JSON bodies on a loopback port of its own.

| Method & path | Body (JSON) | Does |
| --- | --- | --- |
| GET /info | | the ready-line data |
| GET /status | | request and datagram counters, sessions, running tasks, faults, stopped services |
| GET /services | | every node's Windows services and their states |
| GET /services/{node}/sc | | ``sc.exe query state= all`` text for that node (CRLF) |
| POST /services/{node}/{service}/stop, .../start | | stop / start a service |
| POST /tasks/{task}/reload | outcome, duration, wait | run a task (GUID or name) to that outcome |
| POST /apps/{app}/reloads | failing | make engine reloads (QIX ``DoReload``) of an app fail or succeed |
| POST /sessions | node, user, virtual_proxy, apps | start a proxy session |
| DELETE /sessions/{id} | | end a proxy session |
| POST /events | kind, count, rate | log events of a kind at a rate |
| POST /faults | node, service, mode (slow, error, tls), seconds, status, path | inject a fault |
| DELETE /faults | | clear every fault |
| POST /license | valid_days | set the server licence's expiry |
| POST /license/expire | | expire the server licence |
| POST /engines/{node}/restart | | restart an engine |
| POST /engines/{node}/load | cpu, ram | pin an engine's CPU / RAM percentage (null: back to simulated) |
| POST /activity/pause, /activity/resume | | hold or resume background activity |

Errors: 400 bad input, 404 unknown node / task / session / service, 409 task already running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sensebutler.simulator.control import ControlError, ControlUsageError
from sensebutler.simulator.runs import TaskBusy
from sensebutler.simulator.sessions import session_json
from sensebutler.simulator.web import Router, error_response, json_response, text_response

if TYPE_CHECKING:
    from sensebutler.simulator.simulator import Simulator


class BadRequest(ValueError):
    """A control request with a missing or ill-typed field."""


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = body.get(name, default)
    if value is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise BadRequest(f"{name!r} has the wrong type")
    return value


class ControlApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        router = self.router = Router()
        router.add("GET", "/info", self.info)
        router.add("GET", "/status", self.status)
        router.add("GET", "/services", self.services)
        router.add("GET", "/services/{node}/sc", self.sc_query)
        router.add("POST", "/services/{node}/{service}/{action}", self.service_action)
        router.add("POST", "/tasks/{task}/reload", self.reload)
        router.add("POST", "/apps/{app}/reloads", self.app_reloads)
        router.add("POST", "/sessions", self.add_session)
        router.add("DELETE", "/sessions/{id}", self.remove_session)
        router.add("POST", "/events", self.emit_events)
        router.add("POST", "/faults", self.add_fault)
        router.add("DELETE", "/faults", self.clear_faults)
        router.add("POST", "/license", self.license_expiry)
        router.add("POST", "/license/expire", self.expire_license)
        router.add("POST", "/engines/{node}/restart", self.restart_engine)
        router.add("POST", "/engines/{node}/load", self.engine_load)
        router.add("POST", "/activity/{action}", self.activity)

    async def handle(self, request: Request) -> Response:
        found = self.router.route(request.method, request.url.path)
        if isinstance(found, int):
            return error_response(found, "no such control endpoint")
        handler, params = found
        try:
            return await handler(request, params)
        except (BadRequest, ControlUsageError) as exc:
            return error_response(400, str(exc))
        except ControlError as exc:
            return error_response(404, str(exc))
        except TaskBusy as exc:
            return error_response(409, f"task {exc} is already running")

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    async def info(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(self.sim.info.as_json())

    async def status(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(self.sim.status())

    async def services(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(self.sim.services())

    async def sc_query(self, request: Request, params: dict[str, str]) -> Response:
        return text_response(self.sim.sc_query(params["node"]))

    async def service_action(self, request: Request, params: dict[str, str]) -> Response:
        action = params["action"].lower()
        if action == "stop":
            await self.sim.stop_service(params["node"], params["service"])
        elif action == "start":
            await self.sim.start_service(params["node"], params["service"])
        else:
            raise BadRequest("the action must be stop or start")
        return json_response({"node": params["node"], "service": params["service"], "action": action})

    async def reload(self, request: Request, params: dict[str, str]) -> Response:
        body = await self._body(request)
        outcome = _field(body, "outcome", str, "success")
        duration = _field(body, "duration", (int, float))
        if outcome not in ("success", "failed", "aborted"):
            raise BadRequest("outcome must be success, failed or aborted")
        session = await self.sim.trigger_reload(params["task"], outcome=outcome, duration=duration)
        answer: dict[str, Any] = {
            "task_id": session.task.id,
            "task": session.task.name,
            "execution_session_id": session.id,
            "execution_result_id": session.result.id,
        }
        if _field(body, "wait", bool, False):
            result = await self.sim.wait_for_task(session.id, timeout=None)
            answer["status"] = int(result.status)
        return json_response(answer, 201)

    async def app_reloads(self, request: Request, params: dict[str, str]) -> Response:
        failing = _field(await self._body(request), "failing", bool)
        if failing is None:
            raise BadRequest("'failing' (true or false) is required")
        self.sim.set_app_reload_failing(params["app"], failing)
        return json_response({"app": params["app"], "failing": failing})

    async def add_session(self, request: Request, params: dict[str, str]) -> Response:
        body = await self._body(request)
        node = _field(body, "node", str)
        if not node:
            raise BadRequest("'node' is required")
        session = await self.sim.add_session(
            node,
            user=_field(body, "user", str),
            virtual_proxy=_field(body, "virtual_proxy", str, ""),
            apps=_field(body, "apps", int, 1),
        )
        return json_response(
            {
                **session_json(session),
                "node": session.node.name,
                "virtual_proxy": session.virtual_proxy,
                "apps": [c.app_id for c in session.connections.values()],
            },
            201,
        )

    async def remove_session(self, request: Request, params: dict[str, str]) -> Response:
        if not await self.sim.remove_session(params["id"]):
            raise ControlError(f"no session {params['id']}")
        return json_response({"removed": params["id"]})

    async def emit_events(self, request: Request, params: dict[str, str]) -> Response:
        body = await self._body(request)
        kind = _field(body, "kind", str)
        if not kind:
            raise BadRequest("'kind' is required")
        count = _field(body, "count", int, 1)
        rate = float(_field(body, "rate", (int, float), 0))
        emitted = await self.sim.emit_events(kind, count, rate)
        return json_response({"kind": kind, "emitted": emitted})

    async def add_fault(self, request: Request, params: dict[str, str]) -> Response:
        body = await self._body(request)
        node, service, mode = (
            _field(body, "node", str),
            _field(body, "service", str),
            _field(body, "mode", str),
        )
        if not node or not service or mode not in ("slow", "error", "tls"):
            raise BadRequest("'node', 'service' and 'mode' (slow, error or tls) are required")
        path = _field(body, "path", str, "")
        if mode == "slow":
            self.sim.set_slow(node, service, float(_field(body, "seconds", (int, float), 10)), path)
        elif mode == "tls":
            await self.sim.set_failing(node, service, "tls", path)
        else:
            await self.sim.set_failing(node, service, _field(body, "status", int, 500), path)
        return json_response({"faults": self.sim.active_faults()}, 201)

    async def clear_faults(self, request: Request, params: dict[str, str]) -> Response:
        await self.sim.clear_faults()
        return json_response({"faults": []})

    async def license_expiry(self, request: Request, params: dict[str, str]) -> Response:
        days = _field(await self._body(request), "valid_days", int)
        if days is None:
            raise BadRequest("'valid_days' is required")
        self.sim.set_license_expiry(days)
        return json_response({"valid_days": days})

    async def expire_license(self, request: Request, params: dict[str, str]) -> Response:
        await self.sim.expire_license()
        return json_response({"expired": True})

    async def restart_engine(self, request: Request, params: dict[str, str]) -> Response:
        await self.sim.restart_engine(params["node"])
        return json_response({"restarted": params["node"]})

    async def engine_load(self, request: Request, params: dict[str, str]) -> Response:
        body = await self._body(request)
        cpu, ram = _field(body, "cpu", (int, float)), _field(body, "ram", (int, float))
        self.sim.set_engine_load(params["node"], cpu=cpu, ram=ram)
        return json_response({"node": params["node"], "cpu": cpu, "ram": ram})

    async def activity(self, request: Request, params: dict[str, str]) -> Response:
        action = params["action"].lower()
        if self.sim.activity is None:
            raise BadRequest("background activity is off (start the simulator with --background)")
        if action == "pause":
            self.sim.pause_activity()
        elif action == "resume":
            self.sim.resume_activity()
        else:
            raise BadRequest("the action must be pause or resume")
        return json_response({"activity": "paused" if self.sim.activity.paused else "running"})
