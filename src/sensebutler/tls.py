"""The one builder of client TLS contexts: Qlik's APIs, InfluxDB, MQTT, webhooks.

Problems with the files are reported when the context is built (at startup), naming the config key
and the file, instead of surfacing later as a failed send.
"""

from __future__ import annotations

import ssl
from pathlib import Path


class CertificateError(Exception):
    """A certificate or key file is missing, unreadable, or cannot be used."""


def _readable(path: str, key: str) -> str:
    try:
        with Path(path).open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CertificateError(f"{key}: cannot read {path!r}: {reason}") from exc
    return path


def client_context(
    where: str,
    *,
    ca: str = "",
    client_cert: str = "",
    client_key: str = "",
    passphrase: str = "",
    verify: bool = True,
    check_hostname: bool = True,
) -> ssl.SSLContext:
    """A client context; ``where`` is the config section named in errors (``influxdb.tls``).

    A configured ``ca`` is the only one trusted; without one, the system's store. The key's
    passphrase is always passed (empty when none is configured) so an encrypted key without one
    fails here with a clear message instead of OpenSSL prompting on the terminal.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        _readable(ca, f"{where}.ca")
        try:
            context.load_verify_locations(cafile=ca)
        except ssl.SSLError as exc:
            raise CertificateError(f"{where}.ca: {ca!r} holds no usable PEM certificate: {exc}") from exc
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif not check_hostname:
        context.check_hostname = False
    if client_key and not client_cert:
        raise CertificateError(f"{where}.client_key is set but client_cert is empty")
    if client_cert:
        _readable(client_cert, f"{where}.client_cert")
        if client_key:
            _readable(client_key, f"{where}.client_key")
        try:
            context.load_cert_chain(client_cert, client_key or None, password=passphrase)
        except ssl.SSLError as exc:
            hint = "wrong or missing passphrase, or the key does not belong to the certificate"
            raise CertificateError(
                f"{where}: cannot use client certificate {client_cert!r} with key "
                f"{client_key or client_cert!r} ({hint}): {exc.reason or exc}"
            ) from exc
    return context
