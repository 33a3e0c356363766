"""Shared fixtures: the real fixtures' folder and the synthesized template."""
from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REAL_FIXTURES = (PROJECT_ROOT / ".." / "shared" / "fixtures" / "real").resolve()


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    return REAL_FIXTURES


@pytest.fixture(scope="session")
def cdk_template() -> dict:
    """The app synthesized once per test session (bundling skipped)."""
    from tests.support.template import synthesized_template

    return synthesized_template()
