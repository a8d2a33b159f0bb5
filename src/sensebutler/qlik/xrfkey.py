"""Qlik's XSRF key: 16 characters from ``0-9a-zA-Z``, sent as ``xrfkey=`` and ``X-Qlik-Xrfkey``.

A fresh key per request (Butler SOS uses one fixed key for every call); it only has to match
between the query string and the header of the same request.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
XRFKEY_LENGTH = 16


def new_xrfkey() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(XRFKEY_LENGTH))
