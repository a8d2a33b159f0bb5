"""App id → name, shared by every feature that names apps (health samples, UDP events).

The app-name poller refreshes it from QRS ``/qrs/app``. Session apps (engine-only documents whose
ids start with ``SessionApp``) have no QRS entry and no name; they are kept apart from named apps
rather than reported as "unknown". The map is replaced as a whole and only after a successful
refresh, so readers never see a half-loaded or emptied list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

SESSION_APP_PREFIX = "SessionApp"


def is_session_app(doc_id: str) -> bool:
    return doc_id.startswith(SESSION_APP_PREFIX)


def split_session_apps(doc_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(regular app ids, session app ids)``, each in the given order."""
    regular: list[str] = []
    session: list[str] = []
    for doc_id in doc_ids:
        (session if is_session_app(doc_id) else regular).append(doc_id)
    return regular, session


class AppNames:
    """The current app id → name map (ids compared case-insensitively)."""

    def __init__(self) -> None:
        self._names: Mapping[str, str] = MappingProxyType({})
        self.refreshes = 0

    def replace(self, names: Mapping[str, str]) -> None:
        """Swap in a complete new map (session-app ids are left out)."""
        fresh = {app_id.lower(): name for app_id, name in names.items() if not is_session_app(app_id)}
        self._names = MappingProxyType(fresh)
        self.refreshes += 1

    def as_dict(self) -> dict[str, str]:
        """A copy of the current map (lower-case ids)."""
        return dict(self._names)

    def name(self, app_id: str) -> str | None:
        return self._names.get(app_id.lower())

    def names_for(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """Names of the given ids that are known (session apps and unknown ids are absent)."""
        names = self._names
        found: dict[str, str] = {}
        for doc_id in doc_ids:
            name = names.get(doc_id.lower())
            if name is not None:
                found[doc_id] = name
        return found

    def __len__(self) -> int:
        return len(self._names)
