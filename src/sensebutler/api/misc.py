"""``/v4/butlerping``, ``/v4/configfile/endpointsenabled``, ``/v4/base62tobase16``, ``/v4/base16tobase62``."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sensebutler import __version__
from sensebutler.api.config import BUTLER_NAMES
from sensebutler.api.context import ApiContext
from sensebutler.api.errors import ApiError

TAG = "Misc"
BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
BASE16 = "0123456789abcdef"
_MAX_DIGITS = 1000


class Ping(BaseModel):
    response: str
    butlerVersion: str


class Base62To16(BaseModel):
    base62: str
    base16: str


def convert(digits: str, source: str, target: str) -> str:
    """``digits`` in the alphabet ``source`` written in ``target``; leading zero digits are kept as
    zero digits. ``ValueError`` names the first character not in ``source``."""
    if not digits:
        raise ValueError("the value is empty")
    if len(digits) > _MAX_DIGITS:
        raise ValueError(f"the value is longer than {_MAX_DIGITS} characters")
    number = 0
    base = len(source)
    for position, char in enumerate(digits):
        value = source.find(char)
        if value < 0:
            raise ValueError(f"character {char!r} at position {position + 1} is not a valid digit")
        number = number * base + value
    leading = len(digits) - len(digits.lstrip(source[0]))
    out = []
    while number:
        number, rest = divmod(number, len(target))
        out.append(target[rest])
    return target[0] * leading + "".join(reversed(out))


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(tags=[TAG])

    @ctx.route(
        api, "api_list_enabled_endpoints", "GET", "/v4/configfile/endpointsenabled", response_model=list[str]
    )
    async def endpoints_enabled() -> list[str]:
        """The switches that are on, by Butler's names (``keyValueStore``, ``createNewSchedule``, ...)."""
        return [BUTLER_NAMES[name] for name in ctx.api.endpoints.enabled()]

    @ctx.route(api, "butlerping", "GET", "/v4/butlerping", response_model=Ping)
    async def butlerping() -> Ping:
        """Is the API up? (Butler's answer; ``butlerVersion`` is sensebutler's version.)"""
        return Ping(response="Butler reporting for duty", butlerVersion=__version__)

    @ctx.route(
        api,
        "base62_to_base16",
        "GET",
        "/v4/base62tobase16",
        response_model=Base62To16,
        responses={400: {"description": "Missing or not base62"}},
    )
    async def base62_to_base16(
        base62: str = Query(
            min_length=1,
            max_length=_MAX_DIGITS,
            pattern="^[0-9a-zA-Z]+$",
            description="0-9a-zA-Z",
            examples=["6DMW88LpSok9Z7P7hUK0wv7bF"],
        ),
    ) -> Base62To16:
        try:
            return Base62To16(base62=base62, base16=convert(base62, BASE62, BASE16))
        except ValueError as exc:
            raise ApiError(400, f"base62: {exc}") from exc

    @ctx.route(
        api,
        "base16_to_base62",
        "GET",
        "/v4/base16tobase62",
        response_model=Base62To16,
        responses={400: {"description": "Missing or not base16"}},
    )
    async def base16_to_base62(
        base16: str = Query(
            min_length=1,
            max_length=_MAX_DIGITS,
            pattern="^[0-9a-fA-F]+$",
            description="0-9a-f",
            examples=["3199af08bfeeaf5d420f27ed9c01e74370077"],
        ),
    ) -> Base62To16:
        try:
            return Base62To16(base16=base16, base62=convert(base16.lower(), BASE16, BASE62))
        except ValueError as exc:
            raise ApiError(400, f"base16: {exc}") from exc

    return api
