"""Log-event categorisation: Butler SOS's ``logEvents.categorise`` rules (butler-sos.md F6).

A rule matches an event when the event's level is one of the rule's ``logLevel`` entries (case
insensitive) and at least one of its filters matches the message (case sensitive): ``sw`` starts
with, ``ew`` ends with, ``so`` contains. Every matching ``categorise`` rule contributes its
categories (deduplicated on name and value, in rule order); the default categories apply only when no
rule matched. As in Butler SOS, a rule with an empty ``logLevel`` or ``filter`` list matches nothing.

``drop`` really drops: if any matching rule's action is ``drop`` the result is :data:`DROP` and the
event must not be published. (Butler SOS computes the same verdict and then ignores it, so "dropped"
events are still written, without categories.) Dropped events should still be counted as received.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal

from sensebutler.events import settle
from sensebutler.events.udp import LogEvent
from sensebutler.sources.udp.butler_sos_model import ButlerSosModel, NameValue, NullableList

Categories = tuple[tuple[str, str], ...]


class CategoryFilter(ButlerSosModel):
    type: Literal["sw", "ew", "so"]
    value: str


class CategoriseRule(ButlerSosModel):
    description: str = ""
    log_level: NullableList[str] = []
    action: Literal["categorise", "drop"] = "categorise"
    category: NullableList[NameValue] = []
    filter: NullableList[CategoryFilter] = []


class RuleDefault(ButlerSosModel):
    enable: bool = True
    category: NullableList[NameValue] = [NameValue(name="qs_log_category", value="unknown")]


class CategoriseConfig(ButlerSosModel):
    """``logEvents.categorise``."""

    enable: bool = False
    rules: NullableList[CategoriseRule] = []
    rule_default: RuleDefault = RuleDefault()


class Verdict(Enum):
    DROP = "drop"


DROP: Final = Verdict.DROP


def _pairs(categories: list[NameValue]) -> Categories:
    return tuple(dict.fromkeys((c.name, c.value) for c in categories))


@dataclass(frozen=True, slots=True)
class _Rule:
    levels: frozenset[str]
    starts: tuple[str, ...]
    ends: tuple[str, ...]
    contains: tuple[str, ...]
    drop: bool
    categories: Categories

    @classmethod
    def compile(cls, rule: CategoriseRule) -> _Rule:
        def values(kind: str) -> tuple[str, ...]:
            return tuple(f.value for f in rule.filter if f.type == kind)

        return cls(
            levels=frozenset(level.strip().upper() for level in rule.log_level),
            starts=values("sw"),
            ends=values("ew"),
            contains=values("so"),
            drop=rule.action == "drop",
            categories=_pairs(rule.category),
        )

    def matches(self, level: str, message: str) -> bool:
        return level in self.levels and (
            message.startswith(self.starts)
            or message.endswith(self.ends)
            or any(value in message for value in self.contains)
        )


class Categoriser:
    """Compiled rules; build once per config, call for every log event."""

    __slots__ = ("_default", "_enabled", "_rules")

    def __init__(self, config: CategoriseConfig) -> None:
        self._enabled = config.enable
        self._rules = tuple(_Rule.compile(rule) for rule in config.rules)
        self._default = _pairs(config.rule_default.category) if config.rule_default.enable else ()

    @property
    def enabled(self) -> bool:
        """Categorisation is on (off: every log event keeps its empty categories)."""
        return self._enabled

    @property
    def qix_categories(self) -> Categories:
        """What a QIX performance event gets: the default categories when categorisation is on.

        Rules match on the message, which QIX events do not have. (Butler SOS runs its rules on the
        missing message too: a rule for the QIX events' level then fails and the event is lost.)
        """
        return self._default if self._enabled else ()

    def categorise(self, event: LogEvent) -> Categories | Literal[Verdict.DROP]:
        """The event's categories, or :data:`DROP`. Disabled categorisation gives no categories."""
        if not self._enabled:
            return ()
        level = event.level.strip().upper()
        message = event.message
        matched = False
        found: dict[tuple[str, str], None] = {}
        for rule in self._rules:
            if rule.matches(level, message):
                if rule.drop:
                    return DROP
                matched = True
                found.update(dict.fromkeys(rule.categories))
        return tuple(found) if matched else self._default

    def apply(self, event: LogEvent) -> bool:
        """Set ``event.categories``; ``False`` means the event is dropped and must not be published."""
        verdict = self.categorise(event)
        if verdict is DROP:
            return False
        settle(event, categories=verdict)
        return True


__all__ = [
    "DROP",
    "Categories",
    "CategoriseConfig",
    "CategoriseRule",
    "Categoriser",
    "CategoryFilter",
    "RuleDefault",
    "Verdict",
]
