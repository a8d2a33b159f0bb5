"""The Windows ``sc.exe`` probe: a service's state and configuration on a (remote) Windows host.

Only usable when sensebutler itself runs on Windows. Host and service names are checked before
they reach the command line (Butler's rules: host ``[A-Za-z0-9._-]+``; a service name without
``" & | ; ` $ ( ) < >`` or line breaks, at most 256 characters), and the command runs without a
shell. The parsers are plain functions over sc.exe's text, tested on any OS.
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass

_HOST = re.compile(r"[A-Za-z0-9._-]+")
_FORBIDDEN = set('"&|;`$()<>\r\n')
_STATE = re.compile(r"^\s*STATE\s*:\s*\d+\s+([A-Z_]+)", re.MULTILINE)
_START_TYPES = {"2": "Automatic", "3": "Manual", "4": "Disabled", "0": "Boot", "1": "System"}


class ScExeError(Exception):
    """sc.exe could not be run or said the service or host is not there."""


def check_host(host: str) -> str:
    if not _HOST.fullmatch(host):
        raise ValueError(f"{host!r} is not a host name sc.exe may be given (letters, digits, . _ -)")
    return host


def check_service_name(name: str) -> str:
    if not name or len(name) > 256 or any(char in _FORBIDDEN for char in name):
        raise ValueError(
            f"{name[:60]!r} is not a service name sc.exe may be given "
            '(1-256 characters, none of " & | ; ` $ ( ) < > or line breaks)'
        )
    return name


def parse_state(text: str) -> str:
    """``RUNNING``, ``STOPPED``, ... from ``sc.exe query``; UNKNOWN when there is no STATE line."""
    match = _STATE.search(text)
    return match.group(1) if match else "UNKNOWN"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    display_name: str = ""
    start_type: str = ""
    exe_path: str = ""
    dependencies: tuple[str, ...] = ()


def parse_config(text: str) -> ServiceConfig:
    """``sc.exe qc``: display name, start type (in Butler's words), binary path, dependencies."""
    values: dict[str, str] = {}
    dependencies: list[str] = []
    current = ""
    for raw in text.replace("\r", "").split("\n"):
        key, sep, value = raw.partition(":")
        if sep and key.strip() and key.strip().replace("_", "").isupper() and " " not in key.strip():
            current = key.strip()
            values[current] = value.strip()
            if current == "DEPENDENCIES" and value.strip():
                dependencies.append(value.strip())
        elif current == "DEPENDENCIES" and raw.strip().lstrip(":").strip():
            dependencies.append(raw.strip().lstrip(":").strip())
    start = values.get("START_TYPE", "")
    number = start.split()[0] if start else ""
    start_type = _START_TYPES.get(number, start)
    if number == "2" and "DELAYED" in start:
        start_type = "Automatic (delayed start)"
    return ServiceConfig(
        display_name=values.get("DISPLAY_NAME", ""),
        start_type=start_type,
        exe_path=values.get("BINARY_PATH_NAME", ""),
        dependencies=tuple(dependencies),
    )


async def _run(host: str, *args: str, timeout_s: float) -> str:
    if sys.platform != "win32":
        raise ScExeError("sc.exe runs on Windows only; use monitors.services.probe: qrs")
    argv = ["sc.exe", f"\\\\{check_host(host)}", *args]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        async with asyncio.timeout(timeout_s):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        raise ScExeError(f"sc.exe on {host} gave no answer within {timeout_s:g} s") from None
    text = output.decode("utf-8", "replace")
    if process.returncode != 0:
        raise ScExeError(f"sc.exe {' '.join(args)} on {host} failed: {text.strip()[:200]}")
    return text


async def query(host: str, service: str, *, timeout_s: float) -> tuple[str, ServiceConfig]:
    """State and configuration of one service on one host."""
    name = check_service_name(service)
    state = parse_state(await _run(host, "query", name, timeout_s=timeout_s))
    config = parse_config(await _run(host, "qc", name, timeout_s=timeout_s))
    return state, config
