"""The TLS context for every Qlik call, built once from ``qlik.certificates`` and shared.

Qlik Sense authenticates API clients by certificate (the QMC's export: ``client.pem``,
``client_key.pem``, ``root.pem``).
"""

from __future__ import annotations

import ssl

from sensebutler.config.qlik import Certificates
from sensebutler.tls import CertificateError, client_context

__all__ = ["CertificateError", "build_ssl_context"]


def build_ssl_context(certificates: Certificates) -> ssl.SSLContext:
    """Client certificate, key and CA from ``qlik.certificates`` (Sense's ``root.pem`` only, when given)."""
    return client_context(
        "qlik.certificates",
        ca=certificates.ca,
        client_cert=certificates.client_cert,
        client_key=certificates.client_key,
        passphrase=certificates.passphrase.get_secret_value() if certificates.passphrase else "",
        verify=certificates.verify_server,
        check_hostname=certificates.verify_hostname,
    )
