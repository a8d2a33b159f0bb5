"""The API's own documentation: Swagger UI at ``/documentation``, the OpenAPI document as JSON
(``/documentation/json``, FastAPI's) and YAML (``/documentation/yaml``).

Swagger UI's files come from the npm registry at install time (``make web-assets`` →
``api/vendor/``, git-ignored) and are served from here, so the page works without internet access;
FastAPI's default page would load them from a CDN.
"""

from __future__ import annotations

import io
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse
from ruamel.yaml import YAML
from starlette.staticfiles import StaticFiles

VENDOR = Path(__file__).parent / "vendor"
ASSETS = "/documentation/assets"
#: ``validatorUrl`` off: Swagger UI would otherwise send the document to swagger.io's validator
SWAGGER_PARAMETERS = {"operationsSorter": "alpha", "docExpansion": "list", "validatorUrl": None}
MISSING_ASSETS = (
    "<!doctype html><title>sensebutler API</title><p>The Swagger UI files are not installed "
    "(run <code>make web-assets</code>). The API's description is at "
    '<a href="json">/documentation/json</a> and <a href="yaml">/documentation/yaml</a>.</p>'
)


def install(app: FastAPI) -> None:
    """Adds the documentation routes; ``app`` is created with ``docs_url=None``."""

    @app.get("/documentation", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        if not (VENDOR / "swagger-ui-bundle.js").is_file():
            return HTMLResponse(MISSING_ASSETS)
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/documentation/json",
            title=f"{app.title} — documentation",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get("/documentation/yaml", include_in_schema=False)
    async def openapi_yaml() -> PlainTextResponse:
        buffer = io.StringIO()
        yaml = YAML(typ="safe")
        yaml.default_flow_style = False
        yaml.dump(app.openapi(), buffer)
        return PlainTextResponse(buffer.getvalue(), media_type="application/yaml")

    app.mount(ASSETS, StaticFiles(directory=VENDOR, check_dir=False), name="documentation-assets")
