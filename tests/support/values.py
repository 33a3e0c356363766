"""Typed values the repositories take, for tests that only need one to exist."""
from __future__ import annotations

from typing import Any

from tvreport.stats import ViewingStatistics, compute_statistics


def statistics(**fields: Any) -> ViewingStatistics:
    """The statistics of an empty history, with `fields` (snake_case) set."""
    return compute_statistics([], {}).model_copy(update=fields)
