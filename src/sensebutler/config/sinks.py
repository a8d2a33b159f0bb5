"""What every sink's config section shares; each sink's own section is in ``sinks/<name>/config.py``.

Each sink has ``events:``: the event kinds it receives (empty = every kind it knows), and an
optional ``delivery:`` block replacing the global one for that sink.
"""

from __future__ import annotations

import ssl

from sensebutler.config.base import FeatureSection, Section
from sensebutler.config.delivery import DeliveryConfig
from sensebutler.tls import client_context


class TlsClient(Section):
    """TLS towards a destination. ``ca`` empty = the system trust store."""

    enable: bool = False
    ca: str = ""
    client_cert: str = ""
    client_key: str = ""
    verify: bool = True

    def context(self, where: str) -> ssl.SSLContext:
        """The client context (:class:`~sensebutler.tls.CertificateError` names ``where``)."""
        return client_context(
            where,
            ca=self.ca,
            client_cert=self.client_cert,
            client_key=self.client_key,
            verify=self.verify,
        )


class SinkSection(FeatureSection):
    events: list[str] = []
    delivery: DeliveryConfig | None = None
