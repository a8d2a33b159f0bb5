"""User-activity datagrams (UDP 9997) from the proxy appenders (butler-sos.md §2.5).

``type;host;command;userDirectory;userId;origin;context;message`` — the message is last and may hold
``;``, so everything after the seventh ``;`` is the message. Derived here: the app id from a context
``[/<virtual proxy>]/app/<guid>[?…|/…]`` and browser/OS from ``UserAgent: …`` in the message. The
app *name* is looked up later by whoever holds the app list.
"""

from __future__ import annotations

from typing import Literal

from sensebutler.events.udp import UserEvent
from sensebutler.sources.udp.malformed import MalformedDatagram, MalformedReason
from sensebutler.sources.udp.sanitise import (
    MAX_CONTEXT,
    MAX_LONG,
    MAX_NAME,
    MAX_TEXT,
    decode,
    guid_or_empty,
    join_user,
)
from sensebutler.sources.udp.user_agent import MAX_UA, UNKNOWN, parse_user_agent

USER_FIELDS = 8
_UA_MARKER = "UserAgent:"
_TYPES: dict[str, Literal["qseow-proxy-session", "qseow-proxy-connection"]] = {
    "/qseow-proxy-session/": "qseow-proxy-session",
    "/qseow-proxy-connection/": "qseow-proxy-connection",
}


def app_id_from_context(context: str) -> str:
    """The lower-case app GUID of a context like ``/app/<guid>?reloaduri=…``, else ``""``."""
    start = context.find("/app/")
    if start < 0:
        return ""
    start += 5
    after = context[start + 36 : start + 37]
    if after and after not in "?/#":
        return ""
    return guid_or_empty(context[start : start + 36])


def user_agent_from_message(message: str) -> str:
    """The text after ``UserAgent:``, trimmed and without surrounding quotes; ``""`` if absent."""
    at = message.find(_UA_MARKER)
    if at < 0:
        return ""
    ua = message[at + len(_UA_MARKER) :].strip()
    if ua[:1] in ("'", '"'):
        end = ua.find(ua[0], 1)
        ua = ua[1:end] if end > 0 else ua[1:]
    return ua.strip()[:MAX_UA]


def parse_user_datagram(data: bytes, received_ns: int) -> UserEvent:
    """One user-activity datagram → :class:`UserEvent`; anything else raises :class:`MalformedDatagram`.

    These datagrams carry no timestamp, so ``time_ns`` is ``received_ns``.
    """
    parts = decode(data).split(";", USER_FIELDS - 1)
    message_type = _TYPES.get(parts[0]) or _TYPES.get(parts[0].strip().lower())
    if message_type is None:
        raise MalformedDatagram(MalformedReason.UNKNOWN_TYPE, data, "not a user-event type")
    if len(parts) < USER_FIELDS:
        raise MalformedDatagram(MalformedReason.FIELD_COUNT, data, f"user: {len(parts)} < {USER_FIELDS}")
    _, host, command, directory, user_id, origin, context, message = parts
    directory = directory[:MAX_NAME]
    user_id = user_id[:MAX_NAME]
    ua = user_agent_from_message(message)
    info = parse_user_agent(ua) if ua else UNKNOWN
    return UserEvent(
        time_ns=received_ns,
        message_type=message_type,
        host=host[:MAX_NAME],
        command=command[:MAX_NAME],
        user_directory=directory,
        user_id=user_id,
        user_full=join_user(directory, user_id),
        origin=origin[:MAX_LONG],
        context=context[:MAX_CONTEXT],
        message=message[:MAX_TEXT],
        app_id=app_id_from_context(context),
        user_agent=ua,
        ua_browser_name=info.browser_name,
        ua_browser_version=info.browser_version,
        ua_browser_major=info.browser_major,
        ua_os_name=info.os_name,
        ua_os_version=info.os_version,
    )


__all__ = ["USER_FIELDS", "app_id_from_context", "parse_user_datagram", "user_agent_from_message"]
