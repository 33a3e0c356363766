"""Shared paths and loaders for the Netflix parsing tests."""
from __future__ import annotations

import pytest

from tests.support.fixtures import REAL_FIXTURES

# The project root is tests/unit/netflix/../../..; real exports live beside it in shared/.
REAL_NETFLIX = REAL_FIXTURES / "netflix"
US_EXPORT = REAL_NETFLIX / "simranvatsa_NetflixViewingHistory.csv"
FI_EXPORT = REAL_NETFLIX / "JustAuramo_NetflixViewingHistory_fi.csv"


@pytest.fixture(scope="session")
def us_export_text() -> str:
    return US_EXPORT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def fi_export_text() -> str:
    return FI_EXPORT.read_text(encoding="utf-8")
