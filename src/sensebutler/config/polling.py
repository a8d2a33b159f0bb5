"""``polling:`` — what sensebutler asks Sense for on a timer."""

from __future__ import annotations

from pydantic import Field

from sensebutler.config.base import FeatureSection, Section


class UserRef(Section):
    directory: str
    user_id: str


class HealthPolling(FeatureSection):
    """Engine ``/engine/healthcheck`` on every server."""

    interval_s: float = Field(default=30.0, ge=0.5, le=86_400)
    timeout_s: float = Field(default=5.0, gt=0, le=600)
    #: random delay (0..jitter_s) added to each target's schedule so polls do not arrive in lockstep
    jitter_s: float = Field(default=1.0, ge=0, le=3600)


class SessionPolling(FeatureSection):
    """Proxy ``/qps/<vp>/session`` per server and virtual proxy."""

    interval_s: float = Field(default=30.0, ge=0.5, le=86_400)
    timeout_s: float = Field(default=5.0, gt=0, le=600)
    jitter_s: float = Field(default=1.0, ge=0, le=3600)
    #: users left out of the per-session detail points (still counted, as Butler SOS does)
    exclude_users: list[UserRef] = []


class AppNamePolling(FeatureSection):
    """App id → name refresh from QRS ``/qrs/app``."""

    interval_s: float = Field(default=60.0, ge=1, le=86_400)


class PollingConfig(Section):
    health: HealthPolling = HealthPolling()
    sessions: SessionPolling = SessionPolling()
    app_names: AppNamePolling = AppNamePolling()
