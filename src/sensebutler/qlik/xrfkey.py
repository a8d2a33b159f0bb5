"""Qlik's XSRF key: 16 characters from ``0-9a-zA-Z``, sent as ``xrfkey=`` and ``X-Qlik-Xrfkey``.

A fresh key per request (Butler SOS uses one fixed key for every call); it only has to match
between the query string and the header of the same request. Sixteen hex digits (64 random bits,
one system call) instead of sixteen picks from the whole alphabet: 1 µs a key instead of 79 µs.
"""

from __future__ import annotations

import secrets

XRFKEY_LENGTH = 16


def new_xrfkey() -> str:
    return secrets.token_hex(XRFKEY_LENGTH // 2)
