"""User sessions on the proxies and their connections to apps on the engines.

One place changes them, so the proxy session lists, the engine healthcheck numbers (sessions,
users, docs) and the user-activity datagrams the proxy logs always tell the same story: a session
start is logged when it appears in the list, a connection opens in the engine when its
"connection Opened" line is logged, and stopping a session closes its connections first.
"""

from __future__ import annotations

import random

from sensebutler.simulator.ids import guid
from sensebutler.simulator.model import App, EngineConnection, ProxySession, ServerNode, Site, User
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.udp import SiteLogs

ACTIVITY_LOGGER = "AuditActivity.Proxy"

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
)


class SessionError(LookupError):
    """An unknown node, virtual proxy, user, app or session."""


def session_json(session: ProxySession) -> dict[str, object]:
    """The QPS shape (PascalCase)."""
    return {
        "UserDirectory": session.user.directory,
        "UserId": session.user.user_id,
        "Attributes": [dict(attribute) for attribute in session.attributes],
        "SessionId": session.id,
    }


class Sessions:
    def __init__(self, site: Site, logs: SiteLogs, rng: random.Random) -> None:
        self.site = site
        self.logs = logs
        self.rng = rng

    # -- queries --------------------------------------------------------------------------------

    def on_proxy(self, node: ServerNode, virtual_proxy: str) -> list[ProxySession]:
        return [
            session
            for session in self.site.proxy_sessions.values()
            if session.node is node and session.virtual_proxy == virtual_proxy
        ]

    def of_user(
        self, node: ServerNode, virtual_proxy: str, directory: str, user_id: str
    ) -> list[ProxySession]:
        return [
            session
            for session in self.on_proxy(node, virtual_proxy)
            if session.user.directory.lower() == directory.lower()
            and session.user.user_id.lower() == user_id.lower()
        ]

    # -- changes --------------------------------------------------------------------------------

    def _context(self, session: ProxySession, path: str) -> str:
        prefix = f"/{session.virtual_proxy}" if session.virtual_proxy else ""
        return f"{prefix}{path}"

    def _log(self, session: ProxySession, command: str, context: str, message: str) -> None:
        self.logs(session.node.short_name, "proxy").write(
            "INFO",
            ACTIVITY_LOGGER,
            message,
            properties={
                "Command": command,
                "UserDirectory": session.user.directory,
                "UserId": session.user.user_id,
                "Origin": self.site.scenario.hub_origin,
                "Context": context,
                "ProxySessionId": session.id,
            },
        )

    def start(
        self,
        node: ServerNode,
        user: User,
        *,
        virtual_proxy: str = "",
        user_agent: str | None = None,
        attributes: list[dict[str, str]] | None = None,
        session_id: str | None = None,
    ) -> ProxySession:
        if virtual_proxy not in node.virtual_proxies:
            raise SessionError(f"node {node.name} has no virtual proxy {virtual_proxy!r}")
        if attributes is None:
            attributes = [{"email": user.email}] if user.email and virtual_proxy else []
        session = ProxySession(
            id=session_id or guid(self.rng),
            node=node,
            virtual_proxy=virtual_proxy,
            user=user,
            user_agent=user_agent or self.rng.choice(USER_AGENTS),
            created=utcnow(),
            attributes=attributes,
        )
        self.site.proxy_sessions[session.id] = session
        self._log(
            session,
            "Start session",
            self._context(session, "/hub/"),
            f"Start session for user '{user.key}' with session id '{session.id}'. "
            f"UserAgent: '{session.user_agent}'",
        )
        return session

    def open_connection(self, session: ProxySession, app: App) -> EngineConnection:
        if session.id not in self.site.proxy_sessions:
            raise SessionError(f"session {session.id} has ended")
        now = utcnow()
        connection = EngineConnection(id=guid(self.rng), app_id=app.id, opened=now, last_active=now)
        session.connections[connection.id] = connection
        session.node.engine.open_connection(connection.id, session.user.key, app.id, now)
        origin = self.site.scenario.hub_origin
        context = self._context(session, f"/app/{app.id}?reloaduri={origin}/sense/app/{app.id}")
        self._log(
            session,
            "Open connection",
            context,
            f"Websocket connection Opened for session '{session.id}' to app '{app.id}'. "
            f"UserAgent: '{session.user_agent}'",
        )
        return connection

    def touch(self, session: ProxySession, connection: EngineConnection) -> None:
        """The user did something in the app (selections, scrolling)."""
        connection.last_active = utcnow()
        session.node.engine.touch_connection(connection.id, connection.last_active)

    def close_connection(self, session: ProxySession, connection: EngineConnection) -> None:
        if session.connections.pop(connection.id, None) is None:
            return
        session.node.engine.close_connection(connection.id, utcnow())
        origin = self.site.scenario.hub_origin
        app_id = connection.app_id
        self._log(
            session,
            "Close connection",
            self._context(session, f"/app/{app_id}?reloaduri={origin}/sense/app/{app_id}"),
            f"Websocket connection Closed for session '{session.id}' to app '{app_id}'. "
            f"UserAgent: '{session.user_agent}'",
        )

    def stop(self, session: ProxySession) -> bool:
        """End ``session`` (closing its connections first); True when it was the user's last one."""
        if session.id not in self.site.proxy_sessions:
            return False
        for connection in list(session.connections.values()):
            self.close_connection(session, connection)
        del self.site.proxy_sessions[session.id]
        self._log(
            session,
            "Stop session",
            self._context(session, "/hub/"),
            f"Stop session for user '{session.user.key}' with session id '{session.id}'",
        )
        return not self.of_user(
            session.node, session.virtual_proxy, session.user.directory, session.user.user_id
        )

    def drop_engine_connections(self, node: ServerNode) -> None:
        """An engine restart tears down every websocket to that engine."""
        for session in list(self.site.proxy_sessions.values()):
            if session.node is node:
                for connection in list(session.connections.values()):
                    self.close_connection(session, connection)
