"""The viewing-history record both sources (Gandalf, Netflix CSV export) produce."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Activity:
    """One play of one title, as the source reported it (title still raw)."""

    title: str
    watched_on: date
    imdb_id: str | None = None
    tvdb_id: str | None = None


@dataclass(frozen=True)
class RejectedRow:
    """A source row that could not be read; `line` is 1-based in the source file
    (for Gandalf: the activity's index in the history)."""

    line: int
    reason: str
    raw: str = ""


@dataclass
class HistoryReadResult:
    activities: list[Activity] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    date_format: str | None = None  # e.g. "%m/%d/%y"
    date_format_ambiguous: bool = False
