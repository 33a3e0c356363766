"""Stage functions over the in-memory repositories (tests/support/fakes.py): no AWS,
no sockets. A `World` holds the three fakes on one fixed clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from tests.support.fakes import FakeSessions, FakeShowCache, FakeViewing
from tvreport.records import CachedShow, CastMember, RtScores
from tvreport.session_model import Stage, State

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class World:
    now: datetime = T0
    sessions: FakeSessions = field(init=False)
    viewing: FakeViewing = field(default_factory=FakeViewing)
    cache: FakeShowCache = field(default_factory=FakeShowCache)

    def __post_init__(self) -> None:
        self.sessions = FakeSessions(1, clock=lambda: self.now)

    def crunching(self, session_id: str = "s-1", *, total_shows: int | None = None, chunks: int = 1) -> str:
        """A crunching session; with `total_shows`, its history split into `chunks` (wave 0 sent)."""
        self.sessions.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
        if total_shows is not None:
            self.sessions.set_totals(session_id, total_shows=total_shows, total_chunks=chunks, movies=0,
                                     activities=total_shows, rejected=0)
            self.sessions.claim_wave(session_id, 0, wave_size=10, chunk_size=50)
            self.sessions.mark_wave_sent(session_id, 0)
        return session_id

    def watched(self, session_id: str, show_key: str, title: str, tmdb_id: int | None, episodes: int) -> None:
        """A viewing record of `episodes` episodes watched in April 2026, matched to `tmdb_id`."""
        plays = {f"2026-04-{day:02d}|1|{day}" for day in range(1, episodes + 1)}
        self.viewing.put_record(session_id, show_key, title=title, kind="show", plays=plays)
        if tmdb_id is not None:
            self.viewing.set_tmdb_id(session_id, show_key, tmdb_id)

    def cached(self, tmdb_id: int, name: str, genres: list[str], cast: list[CastMember] | None = None,
               critics: int | None = None, imdb_id: str | None = None) -> CachedShow:
        self.cache.put_show(CachedShow(tmdb_id=tmdb_id, name=name, genres=genres, cast=cast or [], imdb_id=imdb_id))
        if critics is not None:
            self.cache.update_rotten_tomatoes(tmdb_id, RtScores(critics_score=critics, audience_score=critics))
        show = self.cache.get(tmdb_id)
        assert show is not None
        return show

    def item(self, session_id: str = "s-1") -> dict:
        item = self.sessions.get_item(session_id)
        assert item is not None
        return item

    def count_both(self, session_id: str, chunk_id: int, done: int, failed: int = 0) -> None:
        for stage in (Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES):
            assert self.sessions.count_chunk(session_id, stage, chunk_id, shows_done=done, shows_failed=failed)


@pytest.fixture
def world() -> World:
    return World()
