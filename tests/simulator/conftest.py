"""The simulator's own tests run against per-node certificates, as a Sense site presents them."""

from __future__ import annotations

import pytest


@pytest.fixture
def simulator_lenient_certificates() -> bool:
    return False
