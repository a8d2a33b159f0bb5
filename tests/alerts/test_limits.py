"""Alert rate limits on the state backend: keyed by destination, event and key; kept across restarts."""

from __future__ import annotations

from pathlib import Path

from sensebutler.alerts.limits import AlertLimits
from sensebutler.config.state import StateConfig
from sensebutler.services.state import open_backend


async def test_one_alert_per_window_per_destination_event_and_key(tmp_path: Path) -> None:
    backend = open_backend(StateConfig(dir=str(tmp_path)), tmp_path)
    await backend.start()
    try:
        limits = AlertLimits(backend)
        assert await limits.allow("email", "reload-failed", "t1|a@x", window_s=300)
        assert not await limits.allow("email", "reload-failed", "t1|a@x", window_s=300)
        # another recipient, event, destination: their own limits
        assert await limits.allow("email", "reload-failed", "t1|b@x", window_s=300)
        assert await limits.allow("email", "reload-success", "t1|a@x", window_s=300)
        assert await limits.allow("slack", "reload-failed", "t1|a@x", window_s=300)
        assert await limits.allow("email", "reload-failed", "t1|a@x", window_s=0)  # 0: no limit
        assert (limits.limited["email"], limits.allowed["email"]) == (1, 4)
    finally:
        await backend.stop()
    # a restart keeps the limit
    backend = open_backend(StateConfig(dir=str(tmp_path)), tmp_path)
    await backend.start()
    try:
        assert not await AlertLimits(backend).allow("email", "reload-failed", "t1|a@x", window_s=300)
    finally:
        await backend.stop()
