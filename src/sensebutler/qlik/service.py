"""The Qlik client as a runtime service: one TLS context and one set of connection pools for every
feature (pollers, monitors, reload-alert enrichment, the REST API), closed after all of them stopped."""

from __future__ import annotations

from sensebutler.config.qlik import QlikConfig
from sensebutler.qlik.http import QlikHttp
from sensebutler.qlik.qrs import QrsClient
from sensebutler.qlik.tls import build_ssl_context


class QlikService:
    name = "qlik client"

    def __init__(self, config: QlikConfig) -> None:
        """Raises :class:`~sensebutler.tls.CertificateError` naming an unusable certificate file."""
        self.config = config
        self.http = QlikHttp(build_ssl_context(config.certificates))
        self.qrs = QrsClient(self.http, config)

    async def start(self) -> None:
        """Connections are opened by the first request to each host."""

    async def stop(self) -> None:
        await self.http.aclose()
