"""Warnings, errors and QIX performance rows the Sense services log, built from the live site so
hosts, users, apps, tasks and session ids are real ones.

Each writer logs one record through :class:`~sensebutler.simulator.udp.SiteLogs`; the appenders then
decide what leaves as a datagram (warnings and errors go to the log-event target, QIX performance rows
too, at INFO).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from sensebutler.simulator.ids import guid
from sensebutler.simulator.model import ServerNode, Site
from sensebutler.simulator.timefmt import utcnow
from sensebutler.simulator.udp import SiteLogs

QIX_LOGGER = "QixPerformance.Engine.Engine"
QIX_METHODS = (
    ("Global::OpenApp", "<Unknown>"),
    ("Doc::GetAppLayout", "<Unknown>"),
    ("Doc::GetObject", "<Unknown>"),
    ("GenericObject::GetLayout", "barchart"),
    ("GenericObject::GetLayout", "linechart"),
    ("GenericObject::GetLayout", "kpi"),
    ("GenericObject::GetLayout", "table"),
    ("GenericObject::GetHyperCubeData", "pivot-table"),
    ("GenericObject::GetListObjectData", "listbox"),
    ("GenericObject::SelectListObjectValues", "listbox"),
    ("Doc::GetObjects", "SheetList"),
    ("Doc::CreateSessionObject", "AppPropsList"),
    ("GenericObject::GetLayout", "map"),
)


def _engine_time(moment: datetime) -> str:
    local = moment.astimezone()
    return local.isoformat(timespec="milliseconds")


class LogEventWriter:
    def __init__(self, site: Site, logs: SiteLogs, rng: random.Random) -> None:
        self.site = site
        self.logs = logs
        self.rng = rng
        self._request_ids: dict[str, int] = {}
        self.kinds: dict[str, Callable[[], None]] = {
            "engine": self.engine,
            "proxy": self.proxy,
            "repository": self.repository,
            "scheduler": self.scheduler,
            "qix-perf": self.qix_performance,
        }

    def _node(self) -> ServerNode:
        return self.rng.choice(self.site.nodes)

    def _user(self) -> tuple[str, str]:
        people = [user for user in self.site.users.values() if user.directory != "INTERNAL"]
        user = self.rng.choice(people)
        return user.directory, user.user_id

    def _app(self) -> tuple[str, str]:
        app = self.rng.choice(list(self.site.apps.values()))
        return app.id, app.name

    # -- service warnings and errors --------------------------------------------------------------

    def engine(self) -> None:
        node = self._node()
        directory, user_id = self._user()
        app_id, _ = self._app()
        session = guid(self.rng)
        choices = (
            (
                "WARN",
                "System.Engine",
                f"Memory usage reached the low memory limit, app {app_id} may be unloaded",
            ),
            (
                "WARN",
                "Performance.Engine",
                "Calculation of an object exceeded the time limit and was aborted",
            ),
            ("ERROR", "System.Engine", f"Failed to open app {app_id}: the file is locked by another process"),
            ("WARN", "Session.Engine", f"Engine session {session} for user {directory}\\{user_id} timed out"),
            ("ERROR", "System.Engine", f"Document {app_id} could not be saved: access to the path is denied"),
        )
        level, logger, message = self.rng.choice(choices)
        engine = node.engine
        self.logs(node.short_name, "engine").write(
            level,
            logger,
            message,
            properties={
                "ProxySessionId": guid(self.rng),
                "ActiveUserDirectory": directory,
                "ActiveUserId": user_id,
                "EngineTimestamp": _engine_time(utcnow()),
                "ProcessId": str(4000 + engine.seed % 4000),
                "Exe Version": engine.version,
                "Server Started": _engine_time(engine.started),
                "Entry Type": "Server",
                "SessionId": session,
                "AppId": app_id,
            },
        )

    def _service_properties(self, command: str, result: str, context: str) -> dict[str, str]:
        directory, user_id = self._user()
        return {
            "UserDirectory": directory,
            "UserId": user_id,
            "Command": command,
            "Result": result,
            "Origin": self.site.scenario.hub_origin,
            "Context": context,
        }

    def proxy(self) -> None:
        node = self._node()
        other = self._node()
        directory, user_id = self._user()
        app_id, _ = self._app()
        choices = (
            (
                "WARN",
                "Security.Proxy",
                f"Access was denied for User: '{directory}\\{user_id}'",
                "",
                "Authenticate",
                "403",
                f"/app/{app_id}",
            ),
            (
                "WARN",
                "AuditSecurity",
                f"Authentication failed for user {directory}\\{user_id}: ticket has expired",
                "",
                "Login",
                "401",
                "/hub/",
            ),
            (
                "ERROR",
                "System.Proxy",
                f"Connection to the engine on {other.short_name} was lost",
                "System.Net.WebSockets.WebSocketException: The remote party closed the WebSocket connection",
                "Forward",
                "500",
                f"/app/{app_id}",
            ),
            (
                "WARN",
                "Audit.Proxy",
                "Load balancing found no engine able to open the app, retrying",
                "",
                "Load balance",
                "503",
                f"/app/{app_id}",
            ),
        )
        level, logger, message, exception, command, result, context = self.rng.choice(choices)
        self.logs(node.short_name, "proxy").write(
            level,
            logger,
            message,
            exception=exception,
            properties=self._service_properties(command, result, context),
        )

    def repository(self) -> None:
        central = self.site.central
        other = self._node()
        directory, user_id = self._user()
        choices = (
            (
                "WARN",
                "UserManagement.Repository",
                f"Duplicate entity with userId '{user_id}' in directory "
                f"'{directory}' found during synchronisation, the newest one is kept",
                "",
            ),
            (
                "ERROR",
                "System.Repository",
                f"Failed to request service alive response from "
                f"https://{other.host_name}:4747/ Unable to connect to the remote server",
                "System.Net.WebException: Unable to connect to the remote server",
            ),
            ("WARN", "System.Repository", "Security rule evaluation took longer than 5000 ms", ""),
            (
                "ERROR",
                "Service",
                "Database connection pool exhausted, the request waited longer than 30 s",
                "Npgsql.NpgsqlException: The connection pool has been exhausted",
            ),
        )
        level, logger, message, exception = self.rng.choice(choices)
        self.logs(central.short_name, "repository").write(
            level,
            logger,
            message,
            exception=exception,
            properties=self._service_properties("Check service", "500" if level == "ERROR" else "0", "/qrs"),
        )

    def scheduler(self) -> None:
        task = self.rng.choice(list(self.site.tasks.values()))
        node = self.site.central
        choices = (
            (
                "WARN",
                "System.Scheduler.Scheduler.Master.Task.TaskSession",
                f"Task {task.name} was skipped: the previous execution is still running",
            ),
            (
                "WARN",
                "System.Scheduler.Scheduler.Master",
                "Slave scheduler did not answer the keep-alive request",
            ),
            (
                "ERROR",
                "System.Scheduler.Scheduler.Master.Task.TaskSession",
                f"Task {task.name} could not be queued: no slave scheduler is available",
            ),
        )
        level, logger, message = self.rng.choice(choices)
        self.logs(node.short_name, "scheduler").write(
            level,
            logger,
            message,
            properties={
                "UserDirectory": "",
                "UserId": "",
                "User": "INTERNAL\\sa_scheduler",
                "TaskName": task.name,
                "AppName": task.app.name if task.app else "",
                "TaskId": task.id,
                "AppId": task.app.id if task.app else "",
                "ExecutionId": "",
            },
        )

    # -- QIX performance --------------------------------------------------------------------------------

    def qix_performance(self) -> None:
        """One QIX request row: from a real open connection when there is one, else an automated one."""
        connections = [
            (session, connection)
            for session in self.site.proxy_sessions.values()
            for connection in session.connections.values()
        ]
        if connections:
            session, connection = self.rng.choice(connections)
            node, proxy_session = session.node, session.id
            directory, user_id = session.user.directory, session.user.user_id
            engine_session, app_id = connection.id, connection.app_id
        else:
            node, proxy_session = self._node(), "0"
            directory, user_id = "INTERNAL", "sa_scheduler"
            engine_session, app_id = guid(self.rng), self._app()[0]
        self.qix_row(node, proxy_session, directory, user_id, engine_session, app_id)

    def qix_row(
        self,
        node: ServerNode,
        proxy_session: str,
        directory: str,
        user_id: str,
        engine_session: str,
        app_id: str,
    ) -> None:
        rng = self.rng
        method, object_type = rng.choice(QIX_METHODS)
        request = self._request_ids.get(engine_session, 0) + 1
        self._request_ids[engine_session] = request
        process = rng.lognormvariate(2.5, 1.2)
        work = process * rng.uniform(0.7, 0.98)
        object_id = (
            "<Unknown>"
            if object_type in ("<Unknown>", "SheetList", "AppPropsList")
            else "".join(rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6))
        )
        self.logs(node.short_name, "engine").write(
            "INFO",
            QIX_LOGGER,
            "",
            properties={
                "ProxySessionId": proxy_session,
                "ActiveUserDirectory": directory,
                "ActiveUserId": user_id,
                "EngineTimestamp": _engine_time(utcnow()),
                "SessionId": engine_session,
                "DocId": app_id,
                "RequestId": str(request),
                "Method": method,
                "ProcessTime": f"{process:.3f}",
                "WorkTime": f"{work:.3f}",
                "LockTime": f"{rng.uniform(0, 0.5):.3f}",
                "ValidateTime": f"{rng.uniform(0, 2):.3f}",
                "TraverseTime": f"{rng.uniform(0, process / 4):.3f}",
                "Handle": str(rng.randint(1, 40) if object_type != "<Unknown>" else -1),
                "ObjectId": object_id,
                "NetRAM": str(rng.randint(0, 2_000_000)),
                "PeakRAM": str(rng.randint(1_000_000, 60_000_000)),
                "ObjectType": object_type,
            },
        )
