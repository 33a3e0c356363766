"""POST /sessions/{id}/cancel stops a stage at once: it checks before each show."""
from __future__ import annotations

from tvreport.clients.errors import UpstreamError
from tvreport.messages import RtChunk, RtShowRef
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.session_model import State
from tvreport.stages import crawl_rotten_tomatoes


class CancellingRottenTomatoes:
    """The upstream edge: the user cancels while the first show is being crawled."""

    def __init__(self, sessions: SessionRepository, session_id: str) -> None:
        self.sessions, self.session_id, self.calls = sessions, session_id, 0

    def find_scores(self, title, year, cast):
        self.calls += 1
        self.sessions.cancel(self.session_id)
        raise UpstreamError("timed out", service="rottentomatoes")  # nothing cached for this show


def test_a_cancel_mid_chunk_stops_before_the_next_show_and_counts_nothing(moto_tables):
    sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)
    sid, _ = sessions.create("c0ffee00-0000-4000-8000-000000000001", source="gandalf",
                             state=State.CRUNCHING_DATA, threshold_percent=97)
    upstream = CancellingRottenTomatoes(sessions, sid)
    deps = crawl_rotten_tomatoes.CrawlDeps(sessions, ShowCacheRepository(moto_tables["show_cache"], 30),
                                           lambda: upstream)
    shows = [RtShowRef(show_key=f"s{i}", title=f"Show {i}", tmdb_id=1000 + i) for i in range(5)]
    crawl_rotten_tomatoes.handle(RtChunk(session_id=sid, chunk_id=0, shows=shows), deps)
    view = sessions.get(sid)
    assert upstream.calls == 1  # four shows never crawled
    assert (view.state, view.failure_reason) == (State.FAILED, "CANCELLED")
    assert (view.rotten_tomatoes.chunks_done, view.rotten_tomatoes.shows_done,
            view.rotten_tomatoes.shows_failed) == (0, 0, 0)
    assert sessions.ledger(sid) == []  # the chunk was never counted
