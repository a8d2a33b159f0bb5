"""Who gets an e-mail alert (butler.md §7.5), from the enriched alert alone."""

from __future__ import annotations

import dataclasses

import pytest

from sensebutler.config import Config
from sensebutler.events.alerts import AppOwner, NameValue
from sensebutler.sinks.email.config import EmailEventBlock
from sensebutler.sinks.email.recipients import recipients_for
from tests.alerts.samples import alert


def task_with(*properties: tuple[str, str]) -> object:
    base = alert()
    assert base.task is not None
    return dataclasses.replace(base.task, custom_properties=tuple(NameValue(n, v) for n, v in properties))


def block(**fields: object) -> EmailEventBlock:
    return EmailEventBlock.model_validate(
        {
            "recipients": ["ops@example.com", "OPS@example.com"],
            "recipients_custom_property": "Butler_FailedAlertSendToEmail",
            "enable_by_custom_property": {
                "enable": True,
                "name": "Butler_FailedAlertEnableEmail",
                "value": "Yes",
            },
            **fields,
        }
    )


def test_the_gate_the_task_recipients_and_the_owner() -> None:
    task = task_with(
        ("Butler_FailedAlertEnableEmail", "yes"),
        ("Butler_FailedAlertSendToEmail", "bi@example.com"),
        ("Butler_FailedAlertSendToEmail", "not an address"),
    )
    found = recipients_for(alert(task=task), block(app_owner={"enable": True}))
    assert found.all() == ["ops@example.com", "bi@example.com", "anna@lab.example.com"]
    assert found.invalid == ["not an address"]


def test_a_closed_gate_still_mails_task_recipients() -> None:
    task = task_with(
        ("Butler_FailedAlertEnableEmail", "No"), ("Butler_FailedAlertSendToEmail", "bi@example.com")
    )
    assert recipients_for(alert(task=task), block()).all() == ["bi@example.com"]


def test_an_unknown_task_cannot_be_gated_so_the_recipients_are_mailed() -> None:
    assert recipients_for(alert(task=None), block()).all() == ["ops@example.com"]


@pytest.mark.parametrize(
    ("rule", "mailed"),
    [
        ({"enable": True, "include_all": False, "include": [{"directory": "lab", "user_id": "ANNA"}]}, True),
        ({"enable": True, "include_all": False, "include": [{"directory": "LAB", "user_id": "joe"}]}, False),
        ({"enable": True, "exclude": [{"directory": "LAB", "user_id": "anna"}]}, False),
        ({"enable": False}, False),
    ],
)
def test_owner_include_and_exclude(rule: dict[str, object], mailed: bool) -> None:
    found = recipients_for(alert(), block(enable_by_custom_property={"enable": False}, app_owner=rule))
    assert ("anna@lab.example.com" in found.all()) is mailed


def test_an_owner_without_address_is_flagged_and_the_others_stay() -> None:
    owner = AppOwner(name="Anna", user_id="anna", user_directory="LAB", emails=())
    found = recipients_for(
        alert(owner=owner), block(enable_by_custom_property={"enable": False}, app_owner={"enable": True})
    )
    assert found.owner_without_email and found.all() == ["ops@example.com"]


def test_blocks_get_butlers_property_names_and_an_enabled_section_needs_smtp() -> None:
    config = Config.model_validate({"email": {"reload_aborted": {"recipients": ["a@b.cd"]}}})
    aborted = config.email.reload_aborted
    assert aborted.enable and aborted.recipients_custom_property == "Butler_AbortedAlertSendToEmail"
    assert aborted.enable_by_custom_property.name == "Butler_AbortedAlertEnableEmail"
    assert config.email.reload_success.tail_lines == 25 and not config.email.reload_success.enable
    with pytest.raises(ValueError, match=r"smtp\.host is required"):
        Config.model_validate({"email": {"enable": True, "from_address": "a@b.cd"}})
