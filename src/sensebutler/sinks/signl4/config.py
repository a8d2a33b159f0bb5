"""``signl4:`` — reload alerts to Signl4 (Butler's ``incidentTool.signl4``), and their resolution.

```yaml
signl4:
  enable: true
  url: https://connect.signl4.com/webhook/${SIGNL4_TEAM_SECRET}
  reload_failed: { rate_limit_s: 15, service_name: Qlik Sense, severity: 1 }
  reload_aborted: { rate_limit_s: 15, service_name: Qlik Sense, severity: 10 }
  resolve: true          # the task's next successful reload resolves its open alert
```
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from sensebutler.alerts.config import AlertChannel, AlertEventBlock
from sensebutler.sinks.webhook.config import check_url


class Signl4EventBlock(AlertEventBlock):
    """One alert event: Butler's ``rateLimit`` (15 s in its template), ``serviceName``, ``severity``."""

    rate_limit_s: float = Field(default=15.0, ge=0, le=30 * 86_400)
    #: ``X-S4-Service``
    service_name: str = "Qlik Sense"
    #: ``Severity``
    severity: int = 1


class Signl4AbortedBlock(Signl4EventBlock):
    """Aborted reloads: severity 10 as in Butler's template."""

    severity: int = 10


def _aborted() -> Signl4AbortedBlock:
    return Signl4AbortedBlock(enable=False)


#: the block of the resolving event: no rate limit, nothing else applies
RESOLVE_BLOCK = AlertEventBlock(rate_limit_s=0)


class Signl4Section(AlertChannel):
    #: the team's webhook URL (it holds the team secret)
    url: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    reload_failed: Signl4EventBlock = Signl4EventBlock()
    reload_aborted: Signl4AbortedBlock = Field(default_factory=_aborted)
    #: when a task with an open alert next reloads successfully, send ``X-S4-Status: resolved``
    #: for it (needs ``success`` in ``alerts.outcomes``)
    resolve: bool = True
    #: how long an alert stays open for resolving; kept in the state backend
    open_alert_ttl_s: float = Field(default=30 * 86_400.0, gt=0, le=366 * 86_400)
    required_when_enabled = ("url",)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            check_url(value.get_secret_value())
        return value

    def block(self, event: str) -> AlertEventBlock | None:
        """Also ``reload-success`` while ``resolve`` is on: it resolves, it never alerts."""
        if event == "reload-success":
            return RESOLVE_BLOCK if self.resolve else None
        return super().block(event)


__all__ = ["RESOLVE_BLOCK", "Signl4AbortedBlock", "Signl4EventBlock", "Signl4Section"]
