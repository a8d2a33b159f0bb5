"""Fixtures for the REST API tests: sensebutler running with the API on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sensebutler.runtime import Runtime
from tests.api.support import api_config, running


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Runtime]:
    """sensebutler with every endpoint of this part on, SQLite state, no Qlik Sense."""
    async with running(api_config(tmp_path)) as runtime:
        yield runtime
