"""The script-log download window: a set time after the task ended, not after the reference call."""

from __future__ import annotations

from sensebutler.simulator.qrs_tasks import ScriptLogTickets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_finished_reloads_log_is_ready_delay_after_the_end_whenever_it_is_asked_for() -> None:
    clock = Clock()
    tickets = ScriptLogTickets(0.2, clock)
    tickets.issue("just-ended", "log a", ended_ago=0.05)
    tickets.issue("ended-long-ago", "log b", ended_ago=60.0)
    assert tickets.fetch("ended-long-ago") == "log b"
    clock.now += 0.14
    assert tickets.fetch("just-ended") is None
    clock.now += 0.02
    assert tickets.fetch("just-ended") == "log a"


def test_a_running_reloads_partial_log_is_ready_delay_after_the_reference_call() -> None:
    clock = Clock()
    tickets = ScriptLogTickets(0.2, clock)
    tickets.issue("running", "partial")
    clock.now += 0.19
    assert tickets.fetch("running") is None
    clock.now += 0.02
    assert tickets.fetch("running") == "partial"
