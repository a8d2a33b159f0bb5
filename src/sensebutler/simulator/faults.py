"""Failure injection: slow or failing endpoints.

A fault applies to one service listener of one node (``engine``, ``proxy``, ``qrs``, ``about``),
optionally only to request paths starting with a prefix. Slowness delays the answer (to push a
client past its timeout); failing answers with an HTTP status (500 by default). TLS refusal and
stopped services are handled at the socket level (:mod:`listeners`).
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("engine", "proxy", "qrs", "about")


@dataclass(frozen=True, slots=True)
class Fault:
    node: str
    service: str
    path_prefix: str = ""
    delay: float = 0.0
    status: int | None = None

    def applies(self, path: str) -> bool:
        return path.lower().startswith(self.path_prefix.lower())

    def as_json(self) -> dict[str, object]:
        mode: dict[str, object] = (
            {"mode": "slow", "delay": self.delay}
            if self.status is None
            else {"mode": "error", "status": self.status}
        )
        return {"node": self.node, "service": self.service, "path_prefix": self.path_prefix, **mode}


class Faults:
    def __init__(self) -> None:
        self._slow: dict[tuple[str, str, str], Fault] = {}
        self._failing: dict[tuple[str, str, str], Fault] = {}

    @staticmethod
    def _check(service: str) -> None:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}: expected one of {', '.join(SERVICES)}")

    def set_slow(self, node: str, service: str, delay: float, path_prefix: str = "") -> None:
        self._check(service)
        key = (node, service, path_prefix)
        if delay <= 0:
            self._slow.pop(key, None)
        else:
            self._slow[key] = Fault(node, service, path_prefix, delay=delay)

    def set_failing(self, node: str, service: str, status: int | None, path_prefix: str = "") -> None:
        self._check(service)
        key = (node, service, path_prefix)
        if status is None:
            self._failing.pop(key, None)
        else:
            if not 400 <= status <= 599:
                raise ValueError(f"failure status must be 4xx or 5xx, not {status}")
            self._failing[key] = Fault(node, service, path_prefix, status=status)

    def clear(self) -> None:
        self._slow.clear()
        self._failing.clear()

    def delay(self, node: str, service: str, path: str) -> float:
        return max(
            (
                fault.delay
                for fault in self._slow.values()
                if fault.node == node and fault.service == service and fault.applies(path)
            ),
            default=0.0,
        )

    def failure(self, node: str, service: str, path: str) -> int | None:
        for fault in self._failing.values():
            if fault.node == node and fault.service == service and fault.applies(path):
                return fault.status
        return None

    def active(self) -> list[dict[str, object]]:
        return [fault.as_json() for fault in (*self._slow.values(), *self._failing.values())]
