"""``teams:`` — reload alerts to a Microsoft Teams Workflows webhook (Butler's ``teamsNotification``).

```yaml
teams:
  enable: true
  webhook_url: ${TEAMS_WORKFLOW_URL}   # "Post to a channel when a webhook request is received"
  reload_failed: { message_type: formatted, template: "", rate_limit_s: 300, head_lines: 10, tail_lines: 10 }
  reload_aborted: { message_type: basic }
  service_stopped: { rate_limit_s: 300 }
  service_started: {}
  server_license_alert: { rate_limit_s: 86400 }   # expired / expiring, rate limit per alert kind
```
"""

from __future__ import annotations

from pydantic import Field

from sensebutler.sinks.chat.config import ChatEventBlock, ChatSection


def _off() -> ChatEventBlock:
    return ChatEventBlock(enable=False)


class TeamsSection(ChatSection):
    reload_failed: ChatEventBlock = ChatEventBlock()
    reload_aborted: ChatEventBlock = Field(default_factory=_off)
    #: the service monitor (Butler ``serviceStopped`` / ``serviceStarted``): rate limit per
    #: host|service, stopped and started apart
    service_stopped: ChatEventBlock = Field(default_factory=_off)
    service_started: ChatEventBlock = Field(default_factory=_off)
    #: the server licence monitor's threshold alert: rate limit per alert kind (``license-expired`` /
    #: ``license-expiring``)
    server_license_alert: ChatEventBlock = Field(default_factory=_off)


__all__ = ["TeamsSection"]
