"""The session outcome metrics the FailedSessions alarm and the dashboard read:
one point per session that ends, none for a repeated end."""
from __future__ import annotations

from tests.support.values import statistics
from tvreport.observability import SESSIONS_COMPLETED, SESSIONS_FAILED, metrics
from tvreport.repositories.sessions import SessionRepository
from tvreport.session_model import State


def counted(name: str) -> float:
    entry = metrics.metric_set.get(name)
    return sum(float(v) for v in entry["Value"]) if entry else 0


def test_a_session_failed_twice_is_counted_once(moto_tables) -> None:
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    session_id, _ = repo.create("a1", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    assert repo.fail(session_id, "UPSTREAM_UNAVAILABLE")
    assert not repo.fail(session_id, "STALLED")  # first reason wins, no second point
    assert counted(SESSIONS_FAILED) == 1
    assert not repo.complete(session_id, statistics())  # an ended session is not completed either
    assert counted(SESSIONS_COMPLETED) == 0


def test_a_completed_session_is_counted_once(moto_tables) -> None:
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    session_id, _ = repo.create("b2", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    assert repo.complete(session_id, statistics(shows_watched=1))
    assert not repo.complete(session_id, statistics(shows_watched=1))
    assert (counted(SESSIONS_COMPLETED), counted(SESSIONS_FAILED)) == (1, 0)
