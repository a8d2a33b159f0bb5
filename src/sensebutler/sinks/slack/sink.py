"""The Slack sink: one incoming-webhook call per alert (rate limit per task, or host|service, and event)."""

from __future__ import annotations

from collections.abc import Iterable

from sensebutler.alerts.config import AlertEventBlock
from sensebutler.alerts.context import license_context, service_context
from sensebutler.alerts.sink import AlertSink
from sensebutler.alerts.templates import TemplateError
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicenseAlert, ServiceStateChanged
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import Sink
from sensebutler.sinks.chat.templates import ChatTemplates, license_chat_context, service_chat_context
from sensebutler.sinks.slack.config import SlackEventBlock, SlackSection
from sensebutler.sinks.slack.payload import slack_body, slack_monitor_body
from sensebutler.sinks.webhook.destination import WebhookDestination
from sensebutler.sinks.webhook.request import HttpRequest
from sensebutler.sinks.webhook.sink import one_request_per_batch


class SlackSink(AlertSink):
    alert_kinds = (ReloadAlert.kind, ServiceStateChanged.kind, ServerLicenseAlert.kind)

    def __init__(self, runtime: Runtime, section: SlackSection) -> None:
        self.templates = ChatTemplates("slack", section)
        destination = WebhookDestination("slack", timeout_s=section.timeout_s)
        section = one_request_per_batch(section, runtime)
        super().__init__("slack", section, destination, runtime)
        self.slack = section

    async def records(self, alert: ReloadAlert, event: str, block: AlertEventBlock) -> Iterable[bytes]:
        if not isinstance(block, SlackEventBlock) or not await self.allow(event, alert.source.task_id, block):
            return []
        body = slack_body(alert, event, block, self.slack, self.templates, self.options)
        return [HttpRequest("POST", self.slack.url(event), body).pack()]

    async def service_records(
        self, change: ServiceStateChanged, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        key = f"{change.current.host}|{change.current.service_name}"
        if not isinstance(block, SlackEventBlock) or not await self.allow(event, key, block):
            return []
        contexts = (service_chat_context(change, self.options), service_context(change, self.options))
        body = slack_monitor_body(event, contexts, block, self.slack, self.templates, self.options)
        return [HttpRequest("POST", self.slack.url(event), body).pack()]

    async def license_records(
        self, alert: ServerLicenseAlert, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        """Rate-limited per alert kind, so an "expiring" alert does not hold back "expired"."""
        if not isinstance(block, SlackEventBlock) or not await self.allow(
            event, f"license-{alert.alert}", block
        ):
            return []
        contexts = (license_chat_context(alert, self.options), license_context(alert, self.options))
        body = slack_monitor_body(event, contexts, block, self.slack, self.templates, self.options)
        return [HttpRequest("POST", self.slack.url(event), body).pack()]


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.slack
    if not section.enable:
        return []
    try:
        return [SlackSink(runtime, section)]
    except (TemplateError, ValueError) as exc:
        raise StartupError(str(exc)) from exc


__all__ = ["SlackSink", "build"]
