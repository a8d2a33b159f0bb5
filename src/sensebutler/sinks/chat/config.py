"""The event block and section base of the chat destinations (Slack, Teams)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from sensebutler.alerts.config import AlertChannel, AlertEventBlock
from sensebutler.sinks.webhook.config import check_url

MessageType = Literal["basic", "formatted"]


class ChatEventBlock(AlertEventBlock):
    """One event of a chat destination (Butler's ``reloadTaskFailure`` block of Slack or Teams).

    ``formatted`` renders ``template`` (a Handlebars file giving the whole JSON message; empty =
    sensebutler's own); ``basic`` sends ``basic_template`` (one line of Handlebars text; empty =
    ``Qlik Sense reload failed: "<task name>"``) with buttons to the QMC and the hub. A formatted
    message whose template does not give valid JSON is sent as the basic one instead.
    """

    #: script log lines in ``scriptLogHead`` / ``scriptLogTail`` (Butler's chat defaults)
    head_lines: int = Field(default=10, ge=0, le=10_000)
    tail_lines: int = Field(default=10, ge=0, le=10_000)
    message_type: MessageType = "formatted"
    basic_template: str = ""
    #: this event's own webhook; empty = the section's ``webhook_url``
    webhook_url: SecretStr | None = None

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            check_url(value.get_secret_value(), "webhook_url")
        return value


class ChatSection(AlertChannel):
    """A chat destination: one incoming-webhook URL for every event unless an event names its own."""

    webhook_url: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=600)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            check_url(value.get_secret_value(), "webhook_url")
        return value

    def chat_block(self, event: str) -> ChatEventBlock | None:
        block = self.block(event)
        return block if isinstance(block, ChatEventBlock) else None

    def url(self, event: str) -> str:
        """The webhook URL of ``event``: its own, else the section's ("" when neither is set)."""
        block = self.chat_block(event)
        for value in (block.webhook_url if block else None, self.webhook_url):
            if value is not None and value.get_secret_value():
                return value.get_secret_value()
        return ""

    @model_validator(mode="after")
    def _every_event_has_a_url(self) -> ChatSection:
        if self.enable:
            without = [event.replace("-", "_") for event in self.enabled_events() if not self.url(event)]
            if without:
                raise ValueError(
                    f"no webhook_url for {', '.join(without)}: set webhook_url here or in the event's block"
                )
        return self


__all__ = ["ChatEventBlock", "ChatSection", "MessageType"]
