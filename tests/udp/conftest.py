from __future__ import annotations

from pathlib import Path

import pytest

COMPAT = Path(__file__).resolve().parents[2] / "../shared/compat"


@pytest.fixture
def compat_dir() -> Path:
    if not COMPAT.is_dir():
        pytest.skip(f"compat files absent ({COMPAT}); they hold the appender files users install")
    return COMPAT
