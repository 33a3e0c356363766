"""The wall clock, in UTC: stages and repositories read time here (tests pass `now=`)."""
from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
