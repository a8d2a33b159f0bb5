"""``email:`` — reload alerts by e-mail (Butler's ``emailNotification``; butler.md §7.5, §8.1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from sensebutler.alerts.config import AlertChannel, AlertEventBlock
from sensebutler.config.base import Section


class SmtpSettings(Section):
    host: str = ""
    port: int = Field(default=25, ge=1, le=65535)
    #: ``starttls``: upgrade with STARTTLS, required (Butler ``tls.requireTLS``); ``tls``: TLS from the
    #: first byte, usually port 465 (Butler ``secure``); ``none``: plain text (a local relay)
    security: Literal["starttls", "tls", "none"] = "starttls"
    #: CA file for the server's certificate; empty = the system's trust store
    ca: str = ""
    #: check the server's certificate (Butler ``tls.rejectUnauthorized``)
    verify: bool = True
    username: str = ""
    password: SecretStr | None = None
    timeout_s: float = Field(default=30.0, gt=0, le=600)


class UserRef(Section):
    directory: str
    user_id: str

    def matches(self, directory: str, user_id: str) -> bool:
        return (self.directory.casefold(), self.user_id.casefold()) == (
            directory.casefold(),
            user_id.casefold(),
        )


class AppOwnerAlert(Section):
    """Mail the app's owner too (Butler ``appOwnerAlert``)."""

    enable: bool = False
    #: every owner (Butler ``includeOwner.includeAll``), else only those in ``include``
    include_all: bool = True
    include: list[UserRef] = []
    exclude: list[UserRef] = []


class EnableByCustomProperty(Section):
    """Send to ``recipients`` only for tasks whose custom property ``name`` is ``value``."""

    enable: bool = False
    name: str = ""
    value: str = "Yes"


class EmailEventBlock(AlertEventBlock):
    rate_limit_s: float = Field(default=600.0, ge=0, le=30 * 86_400)
    #: Handlebars; empty = sensebutler's subject for the event
    subject: str = ""
    priority: Literal["high", "normal", "low"] = "normal"
    #: empty = ``email.from_address``
    from_address: str = ""
    recipients: list[str] = []
    enable_by_custom_property: EnableByCustomProperty = EnableByCustomProperty()
    #: every value of this task custom property is a recipient too (Butler ``alertEnabledByEmailAddress``)
    recipients_custom_property: str = ""
    app_owner: AppOwnerAlert = AppOwnerAlert()


#: the event → the middle of Butler's custom-property names (``Butler_<it>AlertEnableEmail``)
BUTLER_PROPERTY_NAMES = {
    "reload_failed": "Failed",
    "reload_aborted": "Aborted",
    "reload_success": "Success",
    "distribute_failed": "DistributeFailed",
    "distribute_success": "DistributeSuccess",
    "preload_failed": "PreloadFailed",
    "preload_success": "PreloadSuccess",
}


def _block(enable: bool, *, tail_lines: int = 15) -> EmailEventBlock:
    return EmailEventBlock(enable=enable, tail_lines=tail_lines)


def _service_block() -> EmailEventBlock:
    """Butler's service defaults: five minutes between mails, high priority."""
    return EmailEventBlock(enable=False, rate_limit_s=300.0, priority="high")


class EmailSection(AlertChannel):
    smtp: SmtpSettings = SmtpSettings()
    from_address: str = ""
    reload_failed: EmailEventBlock = Field(default_factory=lambda: _block(True))
    reload_aborted: EmailEventBlock = Field(default_factory=lambda: _block(False))
    reload_success: EmailEventBlock = Field(default_factory=lambda: _block(False, tail_lines=25))
    distribute_failed: EmailEventBlock = Field(default_factory=lambda: _block(False))
    distribute_success: EmailEventBlock = Field(default_factory=lambda: _block(False))
    preload_failed: EmailEventBlock = Field(default_factory=lambda: _block(False))
    preload_success: EmailEventBlock = Field(default_factory=lambda: _block(False))
    #: the service monitor (Butler ``serviceStopped`` / ``serviceStarted``): rate limit per host,
    #: service and recipient, stopped and started apart; custom properties and app owners do not apply
    service_stopped: EmailEventBlock = Field(default_factory=_service_block)
    service_started: EmailEventBlock = Field(default_factory=_service_block)
    #: the server licence monitor's threshold alert: to ``recipients``, rate limit per alert kind
    #: (``license-expired`` / ``license-expiring``) and recipient; high priority unless written
    server_license_alert: EmailEventBlock = Field(default_factory=_service_block)

    @model_validator(mode="after")
    def _butler_property_names(self) -> EmailSection:
        """Blocks that do not name their custom properties get Butler's names for the event."""
        for field_name, middle in BUTLER_PROPERTY_NAMES.items():
            block = getattr(self, field_name)
            if "recipients_custom_property" not in block.model_fields_set:
                block.recipients_custom_property = f"Butler_{middle}AlertSendToEmail"
            if not block.enable_by_custom_property.name:
                block.enable_by_custom_property.name = f"Butler_{middle}AlertEnableEmail"
        if "tail_lines" not in self.reload_success.model_fields_set:
            self.reload_success.tail_lines = 25  # Butler's default for successful reloads
        for block in (self.service_stopped, self.service_started, self.server_license_alert):
            if "rate_limit_s" not in block.model_fields_set:
                block.rate_limit_s = 300.0
            if "priority" not in block.model_fields_set:
                block.priority = "high"
        return self

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> EmailSection:
        if not self.enable:
            return self
        problems = []
        if not self.smtp.host:
            problems.append("smtp.host is required")
        for event in self.enabled_events():
            block = self.email_block(event)
            if not (block.from_address or self.from_address):
                problems.append(f"{event.replace('-', '_')}: no from_address (set email.from_address)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def email_block(self, event: str) -> EmailEventBlock:
        block = getattr(self, event.replace("-", "_"))
        assert isinstance(block, EmailEventBlock)
        return block
