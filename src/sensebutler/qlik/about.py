"""About service: ``GET https://<host>:9032/v1/systeminfo`` (certificate only; no Xrfkey)."""

from __future__ import annotations

from pydantic import Field, TypeAdapter

from sensebutler.qlik.answers import Answer, ShapeError, parse
from sensebutler.qlik.http import QlikHttp, bad_response, origin

SYSTEMINFO_PATH = "/v1/systeminfo"


class SystemInfo(Answer):
    """The Sense release a node runs (what Butler's version monitor reads)."""

    product_name: str = Field(default="", alias="productName")
    deployment_type: str = Field(default="", alias="deploymentType")
    version: str
    release_label: str = Field(default="", alias="releaseLabel")
    content_hash: str = Field(default="", alias="contentHash")
    sense_id: str = Field(default="", alias="senseId")
    deprecated_product_version: str = Field(default="", alias="deprecatedProductVersion")
    copyright_year_range: str = Field(default="", alias="copyrightYearRange")


_ADAPTER = TypeAdapter(SystemInfo)


async def fetch_systeminfo(http: QlikHttp, host: str, port: int, *, timeout_s: float) -> SystemInfo:
    base = origin(host, port)
    body = await http.get(base, SYSTEMINFO_PATH, timeout_s=timeout_s)
    try:
        return parse(_ADAPTER, body)
    except ShapeError as exc:
        raise bad_response(base, SYSTEMINFO_PATH, f"not a systeminfo answer: {exc}") from exc
