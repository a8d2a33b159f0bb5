"""Running sensebutler with its REST API on a free port, and talking to it over real HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from sensebutler.config import Config
from sensebutler.runtime import Runtime
from sensebutler.simulator import Simulator
from tests.fixtures.net import async_poll
from tests.fixtures.service import running as run_service

ADMIN_KEY = "admin-key-0123456789abcdef"
KV_ONLY_KEY = "kv-only-key-0123456789abcdef"
KEYS = [
    {"name": "admin", "key": ADMIN_KEY, "scopes": ["*"]},
    {"name": "kv-only", "key": KV_ONLY_KEY, "scopes": ["key_value_store"]},
]
ALL_SWITCHES_BUT_QLIK = {
    "api_list_enabled_endpoints": True,
    "base62_to_base16": True,
    "base16_to_base62": True,
    "butlerping": True,
    "key_value_store": True,
    "create_new_schedule": True,
    "get_schedule": True,
    "get_schedule_status_all": True,
    "delete_schedule": True,
    "start_schedule": True,
    "stop_schedule": True,
    "config_visualisation": True,
}


def api_config(
    tmp_path: Path,
    *,
    sim: Simulator | None = None,
    state: dict[str, Any] | None = None,
    scheduler: dict[str, Any] | None = None,
    **api: Any,
) -> dict[str, Any]:
    """A config with only the API on (every endpoint this part serves), on a free port."""
    config: dict[str, Any] = {
        "state": state or {"dir": str(tmp_path / "state")},
        "self_metrics": {"enable": False},
        "web": {"listeners": {"main": {"host": "127.0.0.1", "port": 0}}},
        "api": {
            "enable": True,
            "keys": KEYS,
            "endpoints": ALL_SWITCHES_BUT_QLIK,
            "scheduler": {"enable": True, "file": str(tmp_path / "schedule.yaml"), **(scheduler or {})},
            **api,
        },
    }
    config["state"].setdefault("dir", str(tmp_path / "state"))
    if sim is not None:
        certs = sim.info.certificates
        config["qlik"] = {
            "certificates": {
                "client_cert": str(certs.client),
                "client_key": str(certs.client_key),
                "ca": str(certs.root),
            },
            "qrs": {"host": "127.0.0.1", "port": sim.info.qrs_port},
        }
    return config


def running(data: dict[str, Any]) -> contextlib.AbstractAsyncContextManager[Runtime]:
    """sensebutler running ``data`` until the block ends."""
    return run_service(Config.model_validate(data))


def base_url(runtime: Runtime) -> str:
    return f"http://127.0.0.1:{runtime.web.port('main')}"


@contextlib.asynccontextmanager
async def client(runtime: Runtime, key: str | None = ADMIN_KEY) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"X-API-Key": key} if key else {}
    async with httpx.AsyncClient(
        base_url=base_url(runtime), headers=headers, trust_env=False, timeout=30
    ) as c:
        yield c


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0, what: str = "") -> Any:
    """The first truthy result of ``check``, polled until ``timeout`` (generous: the machine is busy)."""
    return await async_poll(check, bool, timeout, what or str(check), interval=0.1)
