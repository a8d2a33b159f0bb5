"""Who gets an e-mail alert (butler.md §7.5), decided from the enriched alert without more QRS calls.

* ``recipients``: everyone, or (``enable_by_custom_property``) only for tasks whose custom property
  has the enabled value (compared without case, as QRS filters do). When the task could not be read
  the property cannot be checked and the recipients are mailed (an alert is not held back on a guess).
* every value of the task's ``recipients_custom_property``, regardless of the switch above;
* the app owner (``app_owner``): every owner or those in ``include``, never those in ``exclude``;
  an owner without an e-mail address is skipped with a warning and the others are still mailed.

Addresses are de-duplicated without case; ones that are not addresses are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sensebutler.events.alerts import ReloadAlert
from sensebutler.sinks.email.config import EmailEventBlock

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def is_address(value: str) -> bool:
    return bool(_ADDRESS.match(value))


@dataclass
class Recipients:
    #: ``recipients`` (after the custom-property gate)
    common: list[str] = field(default_factory=list)
    #: from the task's recipients custom property
    task_specific: list[str] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)
    #: values that are not addresses
    invalid: list[str] = field(default_factory=list)
    #: the owner should have been mailed but has no address
    owner_without_email: bool = False

    def all(self) -> list[str]:
        seen: set[str] = set()
        result = []
        for address in (*self.common, *self.task_specific, *self.owner):
            if address.casefold() not in seen:
                seen.add(address.casefold())
                result.append(address)
        return result


def _task_values(alert: ReloadAlert, name: str) -> list[str]:
    if alert.task is None or not name:
        return []
    return [item.value for item in alert.task.custom_properties if item.name.casefold() == name.casefold()]


def recipients_for(alert: ReloadAlert, block: EmailEventBlock) -> Recipients:
    found = Recipients()

    def add(target: list[str], value: str) -> None:
        value = value.strip()
        if is_address(value):
            target.append(value)
        elif value:
            found.invalid.append(value)

    gate = block.enable_by_custom_property
    gated_in = (
        not gate.enable
        or alert.task is None
        or any(value.casefold() == gate.value.casefold() for value in _task_values(alert, gate.name))
    )
    if gated_in:
        for address in block.recipients:
            add(found.common, address)
    for value in _task_values(alert, block.recipients_custom_property):
        add(found.task_specific, value)
    owner_rule = block.app_owner
    owner = alert.owner
    if owner_rule.enable and owner is not None:
        wanted = owner_rule.include_all or any(
            ref.matches(owner.user_directory, owner.user_id) for ref in owner_rule.include
        )
        if any(ref.matches(owner.user_directory, owner.user_id) for ref in owner_rule.exclude):
            wanted = False
        if wanted:
            if owner.emails:
                add(found.owner, owner.emails[0])
            else:
                found.owner_without_email = True
    return found


def recipients_for_service(block: EmailEventBlock) -> Recipients:
    """A service alert's recipients: the block's ``recipients`` (no task, so nothing else applies)."""
    found = Recipients()
    for value in block.recipients:
        value = value.strip()
        if is_address(value):
            found.common.append(value)
        elif value:
            found.invalid.append(value)
    return found
