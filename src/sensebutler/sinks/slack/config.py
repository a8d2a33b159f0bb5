"""``slack:`` — reload alerts to a Slack incoming webhook (Butler's ``slackNotification``).

```yaml
slack:
  enable: true
  webhook_url: ${SLACK_WEBHOOK_URL}
  channel: "#qlik-alerts"          # where the webhook allows choosing; empty = the webhook's own
  username: Qlik Sense
  icon_emoji: ":ghost:"
  reload_failed: { message_type: formatted, template: "", rate_limit_s: 300, head_lines: 10, tail_lines: 10 }
  reload_aborted: { message_type: basic, basic_template: 'Reload aborted: "{{taskName}}"' }
  service_stopped: { channel: "#qlik-services", rate_limit_s: 300 }
  service_started: { channel: "#qlik-services" }
  server_license_alert: { channel: "#qlik-admins" }   # expired / expiring, rate limit per alert kind
```
"""

from __future__ import annotations

from pydantic import Field

from sensebutler.sinks.chat.config import ChatEventBlock, ChatSection


class SlackEventBlock(ChatEventBlock):
    #: this event's channel; empty = the section's
    channel: str = ""


def _off() -> SlackEventBlock:
    return SlackEventBlock(enable=False)


class SlackSection(ChatSection):
    channel: str = ""
    #: Butler's ``fromUser`` and ``iconEmoji``
    username: str = "Qlik Sense"
    icon_emoji: str = ":ghost:"
    reload_failed: SlackEventBlock = SlackEventBlock()
    reload_aborted: SlackEventBlock = Field(default_factory=_off)
    #: the service monitor (Butler ``serviceStopped`` / ``serviceStarted``): rate limit per
    #: host|service, stopped and started apart
    service_stopped: SlackEventBlock = Field(default_factory=_off)
    service_started: SlackEventBlock = Field(default_factory=_off)
    #: the server licence monitor's threshold alert: rate limit per alert kind (``license-expired`` /
    #: ``license-expiring``), so an expiring alert does not hold back the expired one
    server_license_alert: SlackEventBlock = Field(default_factory=_off)


__all__ = ["SlackEventBlock", "SlackSection"]
