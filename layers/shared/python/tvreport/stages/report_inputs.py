"""Loads what the AI stages and the final report compute from: a session's viewing
records and the cached shows they matched."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tvreport.records import CachedShow, ViewingRecord
from tvreport.repositories.protocols import ShowCacheStore, ViewingStore
from tvreport.session_model import SessionView
from tvreport.stats import ViewingStatistics, compute_statistics


@dataclass
class ReportInputs:
    records: list[ViewingRecord]
    shows: dict[int, CachedShow]

    def statistics(self) -> ViewingStatistics:
        return compute_statistics(self.records, self.shows)


def session_day(view: SessionView) -> date:
    """'The last 12 months' are counted back from the day the session was created."""
    created = view.created_at or ""
    return datetime.fromisoformat(created.replace("Z", "+00:00")).date() if created else date.today()


def load_inputs(view: SessionView, viewing: ViewingStore, cache: ShowCacheStore) -> ReportInputs:
    records = viewing.records(view.session_id, as_of=session_day(view))
    shows = cache.batch_get(r.tmdb_id for r in records if r.tmdb_id is not None)
    return ReportInputs(records, shows)
