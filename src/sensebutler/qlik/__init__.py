"""Clients for Qlik Sense's HTTPS APIs: engine healthcheck, proxy (QPS), repository (QRS), About.

Everything goes through :class:`~sensebutler.qlik.http.QlikHttp` (one TLS context from
``qlik.certificates``, a connection pool per origin, a fresh Xrfkey per QRS/QPS request) and fails
with :class:`~sensebutler.qlik.errors.QlikError`, which names the host, the endpoint and a category.
"""

from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.http import QlikHttp
from sensebutler.qlik.tls import CertificateError, build_ssl_context

__all__ = ["CertificateError", "QlikError", "QlikHttp", "build_ssl_context"]
