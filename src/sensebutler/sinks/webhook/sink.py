"""The outgoing-webhooks sink: every webhook of the event gets Butler's fields (one rate limit per
event and task, host|service, or licence alert kind for all of them), through the shared delivery."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sensebutler.alerts.config import AlertChannel, AlertEventBlock
from sensebutler.alerts.sink import AlertSink, alert_delivery
from sensebutler.events.alerts import ReloadAlert
from sensebutler.events.monitors import ServerLicense, ServerLicenseAlert, ServiceStateChanged
from sensebutler.runtime import Runtime, StartupError
from sensebutler.sinks.base import Sink
from sensebutler.sinks.webhook.config import WebhookEventBlock, WebhookSection
from sensebutler.sinks.webhook.destination import WebhookDestination
from sensebutler.sinks.webhook.payload import (
    license_fields,
    license_status_fields,
    service_fields,
    service_query,
    webhook_fields,
    webhook_request,
)
from sensebutler.tls import CertificateError

Section = TypeVar("Section", bound=AlertChannel)


def one_request_per_batch(section: Section, runtime: Runtime) -> Section:
    """``section`` with a delivery that sends each request as its own batch (unless the section has
    its own ``delivery:``), so every alert ends in its own counter. Requests go one at a time
    anyway, so this costs no throughput."""
    if section.delivery is not None:
        return section
    delivery = alert_delivery(section, runtime).model_copy(update={"batch_size": 1})
    return section.model_copy(update={"delivery": delivery})


class WebhookSink(AlertSink):
    alert_kinds = (ReloadAlert.kind, ServiceStateChanged.kind, ServerLicenseAlert.kind, ServerLicense.kind)

    def __init__(self, runtime: Runtime, section: WebhookSection) -> None:
        lists = {"webhook.webhooks": section.webhooks}
        for event in section.enabled_events():
            block = section.block(event)
            if isinstance(block, WebhookEventBlock):
                lists[f"webhook.{event.replace('-', '_')}.webhooks"] = block.webhooks
        contexts = {}
        for key, targets in lists.items():
            for index, target in enumerate(targets):
                profile = target.tls_profile()
                if profile and profile not in contexts:
                    contexts[profile] = target.tls.context(f"{key}[{index}].tls")
        destination = WebhookDestination("webhook", timeout_s=section.timeout_s, tls=contexts)
        section = one_request_per_batch(section, runtime)
        super().__init__("webhook", section, destination, runtime)
        self.webhooks = section

    async def records(self, alert: ReloadAlert, event: str, block: AlertEventBlock) -> Iterable[bytes]:
        if not await self.allow(event, alert.source.task_id, block):
            return []
        fields = webhook_fields(alert, event)
        return [webhook_request(target, fields).pack() for target in self.webhooks.targets(event)]

    async def service_records(
        self, change: ServiceStateChanged, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        if not await self.allow(event, f"{change.current.host}|{change.current.service_name}", block):
            return []
        fields = service_fields(change)
        query = service_query(fields)
        return [webhook_request(target, fields, query).pack() for target in self.webhooks.targets(event)]

    async def license_records(
        self, alert: ServerLicenseAlert, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        """Rate-limited per alert kind, so an "expiring" alert does not hold back "expired"."""
        if not await self.allow(event, f"license-{alert.alert}", block):
            return []
        fields = license_fields(alert)
        return [webhook_request(target, fields).pack() for target in self.webhooks.targets(event)]

    async def license_status_records(
        self, status: ServerLicense, event: str, block: AlertEventBlock
    ) -> Iterable[bytes]:
        """Every check, with its own rate limit (key ``license-status``)."""
        if not await self.allow(event, "license-status", block):
            return []
        fields = license_status_fields(status)
        return [webhook_request(target, fields).pack() for target in self.webhooks.targets(event)]


def build(runtime: Runtime) -> list[Sink]:
    section = runtime.config.webhook
    if not section.enable:
        return []
    try:
        return [WebhookSink(runtime, section)]
    except (CertificateError, ValueError) as exc:
        raise StartupError(str(exc)) from exc


__all__ = ["WebhookSink", "build", "one_request_per_batch"]
