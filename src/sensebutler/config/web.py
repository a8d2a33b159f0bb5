"""``web:`` — the one HTTP server: ``/metrics``, ``/health``, and later the ``/v4`` API and the dashboard.

Features mount their paths on a named listener (``main`` unless their section says otherwise); a
listener is opened only when something is mounted on it. Extra listeners serve features that must
be on another port or with other TLS settings (e.g. Prometheus on Butler SOS's port 9842).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from sensebutler.config.base import Section


class WebTls(Section):
    """HTTPS for a listener; with ``client_ca`` clients must present a certificate it signed."""

    enable: bool = False
    cert: str = ""
    key: str = ""
    client_ca: str = ""

    @model_validator(mode="after")
    def _files_when_enabled(self) -> WebTls:
        if self.enable and not (self.cert and self.key):
            raise ValueError("tls.enable is true: cert and key are required")
        return self


class WebListener(Section):
    host: str = "127.0.0.1"
    #: 0 = any free port (the bound port is logged)
    port: int = Field(default=8080, ge=0, le=65535)
    tls: WebTls = WebTls()


class WebConfig(Section):
    listeners: dict[str, WebListener] = {"main": WebListener()}
