"""The TLS context for every Qlik call, built once from ``qlik.certificates`` and shared.

Qlik Sense authenticates API clients by certificate (the QMC's export: ``client.pem``,
``client_key.pem``, ``root.pem``). Problems with these files are reported at startup, naming the
file and the config key, instead of surfacing later as a failed poll.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from sensebutler.config.qlik import Certificates


class CertificateError(Exception):
    """A certificate file is missing, unreadable, or cannot be used."""


def _readable(path: str, key: str) -> str:
    try:
        with Path(path).open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CertificateError(f"qlik.certificates.{key}: cannot read {path!r}: {reason}") from exc
    return path


def build_ssl_context(certificates: Certificates) -> ssl.SSLContext:
    """A client TLS context with the configured client certificate, key and CA.

    A configured CA (Sense's ``root.pem``) is the only one trusted; without one, the system's.

    The key's passphrase is always passed (empty when none is configured) so an encrypted key
    without one fails here with a clear message instead of OpenSSL prompting on the terminal.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if certificates.ca:
        ca = _readable(certificates.ca, "ca")
        try:
            context.load_verify_locations(cafile=ca)
        except ssl.SSLError as exc:
            problem = f"qlik.certificates.ca: {ca!r} holds no usable PEM certificate: {exc}"
            raise CertificateError(problem) from exc
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if not certificates.verify_server:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif not certificates.verify_hostname:
        context.check_hostname = False
    if certificates.client_key and not certificates.client_cert:
        raise CertificateError("qlik.certificates.client_key is set but client_cert is empty")
    if certificates.client_cert:
        cert = _readable(certificates.client_cert, "client_cert")
        key = _readable(certificates.client_key, "client_key") if certificates.client_key else None
        passphrase = certificates.passphrase.get_secret_value() if certificates.passphrase else ""
        try:
            context.load_cert_chain(cert, key, password=passphrase)
        except ssl.SSLError as exc:
            hint = "wrong or missing passphrase, or the key does not belong to the certificate"
            raise CertificateError(
                f"qlik.certificates: cannot use client certificate {cert!r} with key {key or cert!r} "
                f"({hint}): {exc.reason or exc}"
            ) from exc
    return context
