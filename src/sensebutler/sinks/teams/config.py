"""``teams:`` — reload alerts to a Microsoft Teams Workflows webhook (Butler's ``teamsNotification``).

```yaml
teams:
  enable: true
  webhook_url: ${TEAMS_WORKFLOW_URL}   # "Post to a channel when a webhook request is received"
  reload_failed: { message_type: formatted, template: "", rate_limit_s: 300, head_lines: 10, tail_lines: 10 }
  reload_aborted: { message_type: basic }
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


__all__ = ["TeamsSection"]
