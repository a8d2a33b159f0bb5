"""What the pollers know about a monitored server, taken from ``qlik.servers``."""

from __future__ import annotations

from sensebutler.config.qlik import ServerConfig
from sensebutler.events.polled import ServerRef


def server_ref(server: ServerConfig) -> ServerRef:
    """The server and its configured tags, as every polled event carries them."""
    return ServerRef(
        name=server.name, host=server.host, description=server.description, tags=tuple(server.tags.items())
    )


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
