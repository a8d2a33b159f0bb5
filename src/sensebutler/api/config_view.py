"""``/config`` and ``/config/json``: the running configuration, secrets masked (switch
``config_visualisation``; Butler served this on a port of its own, without keys).

Masked: every secret field (passwords, tokens, API keys, the Redis URL), shown as ``**********``.
The page is static HTML with no script, served with a strict Content-Security-Policy.
"""

from __future__ import annotations

import html
import io
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from ruamel.yaml import YAML

from sensebutler import __version__
from sensebutler.api.context import ApiContext

TAG = "Configuration"
SWITCH = "config_visualisation"
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def masked(ctx: ApiContext) -> dict[str, Any]:
    """The configuration as JSON-able data; ``SecretStr`` values dump as ``**********``."""
    data: dict[str, Any] = ctx.config.model_dump(mode="json")
    return data


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    @ctx.route(api, SWITCH, "GET", "/config/json")
    async def config_json() -> dict[str, Any]:
        """The running configuration as JSON, secrets masked."""
        return masked(ctx)

    @ctx.route(api, SWITCH, "GET", "/config", response_class=HTMLResponse)
    async def config_page() -> HTMLResponse:
        """The running configuration as a page (YAML), secrets masked."""
        buffer = io.StringIO()
        yaml = YAML()
        yaml.default_flow_style = False
        yaml.dump(masked(ctx), buffer)
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>sensebutler configuration</title>"
            "<style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;padding:1em}</style>"
            f"</head><body><h1>sensebutler {html.escape(__version__)}: running configuration</h1>"
            "<p>Secrets are masked. JSON: <a href='config/json'>config/json</a></p>"
            f"<pre>{html.escape(buffer.getvalue())}</pre></body></html>"
        )
        return HTMLResponse(page, headers=_HEADERS)

    return api
