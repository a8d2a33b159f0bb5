"""The Qlik Proxy Service API (port 4243) of one node: sessions per virtual proxy, per user, tickets.

Paths are ``/qps/<resource>`` for the default virtual proxy and ``/qps/<prefix>/<resource>`` for the
others. Bodies are PascalCase, as the QPS sends them. Every call needs a matching Xrfkey.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sensebutler.simulator.ids import guid
from sensebutler.simulator.model import ProxySession, ServerNode, User
from sensebutler.simulator.sessions import SessionError, Sessions, session_json
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.web import Router, empty_response, error_response, json_response, xrfkey_problem

_RESOURCES = frozenset({"session", "user", "ticket", "alive"})


class ProxyApi:
    def __init__(self, node: ServerNode, sessions: Sessions) -> None:
        self.node = node
        self.sessions = sessions
        self.router = Router()
        self.router.add("GET", "/alive", self.alive)
        self.router.add("GET", "/session", self.list_sessions)
        self.router.add("POST", "/session", self.add_session)
        self.router.add("GET", "/session/{id}", self.get_session)
        self.router.add("DELETE", "/session/{id}", self.delete_session)
        self.router.add("GET", "/user/{directory}/{user_id}", self.get_user)
        self.router.add("DELETE", "/user/{directory}/{user_id}", self.delete_user)
        self.router.add("POST", "/ticket", self.ticket)

    async def handle(self, request: Request) -> Response:
        problem = xrfkey_problem(request)
        if problem is not None:
            return problem
        segments = [segment for segment in request.url.path.split("/") if segment]
        if not segments or segments[0].lower() != "qps":
            return empty_response(404)
        rest = segments[1:]
        virtual_proxy = ""
        if rest and rest[0].lower() not in _RESOURCES:
            virtual_proxy, rest = rest[0].lower(), rest[1:]
            if virtual_proxy not in self.node.virtual_proxies:
                return empty_response(404)
        return await self.router.dispatch(request, "/" + "/".join(rest), virtual_proxy=virtual_proxy)

    async def alive(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(True)

    async def list_sessions(self, request: Request, params: dict[str, str]) -> Response:
        found = self.sessions.on_proxy(self.node, params["virtual_proxy"])
        return json_response([session_json(session) for session in found])

    def _session(self, params: dict[str, str]) -> ProxySession | None:
        """The session ``params["id"]`` if it lives on this node's virtual proxy."""
        session = self.sessions.site.proxy_sessions.get(params["id"].lower())
        if (
            session is None
            or session.node is not self.node
            or session.virtual_proxy != params["virtual_proxy"]
        ):
            return None
        return session

    async def get_session(self, request: Request, params: dict[str, str]) -> Response:
        session = self._session(params)
        if session is None:
            return empty_response(404)
        return json_response(session_json(session))

    async def delete_session(self, request: Request, params: dict[str, str]) -> Response:
        session = self._session(params)
        if session is None:
            return empty_response(404)
        body = session_json(session)
        last = self.sessions.stop(session)
        return json_response({"session": body, "lastSessionForUser": last})

    async def get_user(self, request: Request, params: dict[str, str]) -> Response:
        found = self.sessions.of_user(
            self.node, params["virtual_proxy"], params["directory"], params["user_id"]
        )
        return json_response([session_json(session) for session in found])

    async def delete_user(self, request: Request, params: dict[str, str]) -> Response:
        found = self.sessions.of_user(
            self.node, params["virtual_proxy"], params["directory"], params["user_id"]
        )
        bodies = [session_json(session) for session in found]
        for session in found:
            self.sessions.stop(session)
        return json_response(bodies)

    async def _identity(
        self, request: Request
    ) -> tuple[User, list[dict[str, str]], dict[str, object]] | Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return error_response(400, "The request body is not valid JSON")
        if not isinstance(body, dict):
            return error_response(400, "Expected a JSON object")
        directory, user_id = body.get("UserDirectory"), body.get("UserId")
        if not isinstance(directory, str) or not isinstance(user_id, str) or not directory or not user_id:
            return error_response(400, "UserDirectory and UserId are required")
        attributes = body.get("Attributes") or []
        if not isinstance(attributes, list) or not all(
            isinstance(item, dict) and all(isinstance(v, str) for v in item.values()) for item in attributes
        ):
            return error_response(400, "Attributes must be a list of objects with string values")
        site = self.sessions.site
        user = site.user_by_key(directory, user_id)
        if user is None:
            # The proxy does not consult the repository: an unknown user still gets a session.
            now = utcnow()
            user = User(
                id=guid(self.sessions.rng),
                user_id=user_id,
                directory=directory,
                name=user_id,
                created=now,
                modified=now,
            )
        return user, attributes, body

    async def add_session(self, request: Request, params: dict[str, str]) -> Response:
        identity = await self._identity(request)
        if isinstance(identity, Response):
            return identity
        user, attributes, body = identity
        session_id = body.get("SessionId")
        if session_id is not None and (not isinstance(session_id, str) or not session_id):
            return error_response(400, "SessionId must be a non-empty string")
        if isinstance(session_id, str) and session_id.lower() in self.sessions.site.proxy_sessions:
            return error_response(409, "A session with that id already exists")
        try:
            session = self.sessions.start(
                self.node,
                user,
                virtual_proxy=params["virtual_proxy"],
                attributes=attributes,
                session_id=session_id.lower() if isinstance(session_id, str) else None,
            )
        except SessionError as exc:
            return error_response(404, str(exc))
        return json_response(session_json(session), 201)

    async def ticket(self, request: Request, params: dict[str, str]) -> Response:
        identity = await self._identity(request)
        if isinstance(identity, Response):
            return identity
        user, attributes, body = identity
        ticket = f"{self.sessions.rng.getrandbits(64):016x}"
        return json_response(
            {
                "UserDirectory": user.directory,
                "UserId": user.user_id,
                "Attributes": attributes,
                "Ticket": ticket,
                "TargetUri": body.get("TargetUri"),
            },
            201,
        )
