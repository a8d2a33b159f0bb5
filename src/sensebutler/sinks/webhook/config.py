"""``webhook:`` — outgoing webhooks for reload alerts (Butler's ``webhookNotification``).

```yaml
webhook:
  enable: true
  timeout_s: 10
  webhooks:                        # every event whose own list is empty goes to these
    - { description: ops, url: "https://ops.example.com/hook", method: POST }
  reload_failed: { rate_limit_s: 300 }
  reload_aborted:
    rate_limit_s: 300
    webhooks:
      - { url: "https://intranet.example.com/qlik", method: GET, tls: { ca: /etc/ssl/intranet-ca.pem } }
  service_stopped: { rate_limit_s: 300 }   # per host|service; stopped and started apart
  service_started: { rate_limit_s: 300 }
  server_license_alert: { rate_limit_s: 300 }   # the licence monitor's expired / expiring alert
  server_license_status: { rate_limit_s: 3600 }  # "server license status" at every check
```
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from sensebutler.alerts.config import AlertChannel, AlertEventBlock
from sensebutler.config.base import Section
from sensebutler.config.sinks import TlsClient
from sensebutler.sinks.webhook.request import Method


def check_url(value: str, key: str = "url") -> str:
    """An http(s) URL on one line (records carry it on one line), or ValueError naming ``key``."""
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{key} must start with http:// or https://")
    if any(char in value for char in "\r\n\t "):
        raise ValueError(f"{key} cannot contain spaces or line breaks")
    return value


class WebhookTarget(Section):
    """One webhook (Butler: ``description, webhookURL, httpMethod, cert``).

    ``tls`` applies to ``https://`` URLs: ``ca`` is then the only certificate authority trusted
    (Butler's ``cert.certCA``), ``verify: false`` accepts any certificate (``rejectUnauthorized:
    false``; only for tests), ``client_cert``/``client_key`` authenticate sensebutler.
    """

    description: str = ""
    url: SecretStr
    method: Method = "POST"
    tls: TlsClient = TlsClient()

    @field_validator("method", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        check_url(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _tls_only_for_https(self) -> WebhookTarget:
        if self.tls_profile() and not self.url.get_secret_value().startswith("https://"):
            raise ValueError("tls settings apply to https:// URLs only")
        return self

    def tls_profile(self) -> str:
        """A name for this webhook's TLS settings ("" for the defaults), the same for equal settings."""
        tls = self.tls
        if not (tls.ca or tls.client_cert or tls.client_key or not tls.verify):
            return ""
        return f"ca={tls.ca}|cert={tls.client_cert}|key={tls.client_key}|verify={tls.verify}"


class WebhookEventBlock(AlertEventBlock):
    """One event's webhooks (empty = the section's ``webhooks``) and rate limit (one call of every
    webhook per task and ``rate_limit_s``). Template and script-log lines do not apply."""

    webhooks: list[WebhookTarget] = []


def _off() -> WebhookEventBlock:
    return WebhookEventBlock(enable=False)


class WebhookSection(AlertChannel):
    #: per request; Butler has a timeout for GET only
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    webhooks: list[WebhookTarget] = []
    reload_failed: WebhookEventBlock = WebhookEventBlock()
    reload_aborted: WebhookEventBlock = Field(default_factory=_off)
    #: the service monitor (Butler ``serviceMonitor``, here stopped and started apart)
    service_stopped: WebhookEventBlock = Field(default_factory=_off)
    service_started: WebhookEventBlock = Field(default_factory=_off)
    #: the server licence monitor's threshold alert (Butler ``qlikSenseServerLicenseExpiryAlert``)
    server_license_alert: WebhookEventBlock = Field(default_factory=_off)
    #: the licence at every check (Butler ``qlikSenseServerLicenseMonitor`` with ``sendRecurring``)
    server_license_status: WebhookEventBlock = Field(default_factory=_off)

    def targets(self, event: str) -> list[WebhookTarget]:
        """The webhooks of ``event`` (``reload-failed``): its own list, else the section's."""
        block = self.block(event)
        if not isinstance(block, WebhookEventBlock):
            return []
        return block.webhooks or self.webhooks

    @model_validator(mode="after")
    def _every_event_has_webhooks(self) -> WebhookSection:
        if self.enable:
            empty = [event for event in self.enabled_events() if not self.targets(event)]
            if empty:
                names = ", ".join(event.replace("-", "_") for event in empty)
                raise ValueError(
                    f"no webhooks for {names}: list them under webhooks (for every event) or per event"
                )
        return self


__all__ = ["WebhookEventBlock", "WebhookSection", "WebhookTarget", "check_url"]
