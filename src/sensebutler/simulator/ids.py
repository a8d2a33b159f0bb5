"""Lowercase GUIDs, reproducible from a seeded random generator."""

from __future__ import annotations

import random
import uuid

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def guid(rng: random.Random) -> str:
    """A version-4 GUID drawn from ``rng`` (lowercase, as QRS writes them)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
