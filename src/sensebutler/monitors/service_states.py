"""The per ``host|service`` state machine of the service monitor.

Only RUNNING and STOPPED count; pending, paused and unknown states leave the known state as it was.
At the first check after startup a running service is recorded silently and a stopped one is
reported (from UNKNOWN), as Butler does; later, every RUNNING ↔ STOPPED change is reported.

It also notices a whole node coming back: when every watched service of a host was down and one runs
again, :meth:`node_back` gives how long the host was down (from the last check that saw it up, or
the first that saw it down when it was never seen up).
"""

from __future__ import annotations

from dataclasses import dataclass

ACTED_ON = frozenset({"RUNNING", "STOPPED"})


@dataclass(frozen=True, slots=True)
class Change:
    previous: str  # RUNNING, STOPPED or UNKNOWN
    first_check: bool


class ServiceStates:
    def __init__(self) -> None:
        self._known: dict[tuple[str, str], str] = {}
        #: host → monotonic-free wall time (s) of the last check that saw a service of it running
        self._host_up_at: dict[str, float] = {}
        #: host → wall time (s) since when every watched service was down
        self._host_down_since: dict[str, float] = {}

    def update(self, host: str, service: str, state: str) -> Change | None:
        """Record ``state``; the change to report, or None."""
        if state not in ACTED_ON:
            return None
        key = (host.casefold(), service.casefold())
        previous = self._known.get(key)
        self._known[key] = state
        if previous is None:
            return Change("UNKNOWN", True) if state == "STOPPED" else None
        if previous != state:
            return Change(previous, False)
        return None

    def node_back(self, host: str, states: list[str], now_s: float) -> float | None:
        """Feed one check's states of a host's watched services; the downtime (s) when it just came back."""
        key = host.casefold()
        if not states:
            return None
        if any(state == "RUNNING" for state in states):
            down_since = self._host_down_since.pop(key, None)
            last_up = self._host_up_at.get(key)
            self._host_up_at[key] = now_s
            if down_since is None:
                return None
            start = last_up if last_up is not None and last_up <= down_since else down_since
            return max(0.0, now_s - start)
        if all(state == "STOPPED" for state in states):
            self._host_down_since.setdefault(key, now_s)
        return None
