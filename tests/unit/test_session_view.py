"""SessionView is the whole read model: every stored attribute code reads is a typed
field, numbers as DynamoDB returns them (Decimal) read as plain ints and floats."""
from __future__ import annotations

from decimal import Decimal

from tvreport.results import BffResult, StarSignResult
from tvreport.session_model import SessionView, Stage, Trigger, Waves

ITEM = {
    "pk": "SESSION#s-1", "sk": "META", "session_id": "s-1", "state": "COMPLETED", "source": "netflix_csv",
    "threshold_percent": Decimal(97), "total_shows": Decimal(3), "total_chunks": Decimal(1),
    "movies": Decimal(1), "activities": Decimal(12), "rejected_rows": Decimal(0),
    "created_at": "2026-12-01T10:00:00Z", "completed_at": "2026-12-01T10:05:00Z", "client_token": "t" * 16,
    "start_digest": "abc", "start_sent_at": "2026-12-01T10:00:01Z",
    "wave_size": Decimal(10), "chunk_size": Decimal(50), "waves_claimed": Decimal(1), "waves_sent": Decimal(1),
    "starsign_requested_at": "2026-12-01T10:03:00Z", "starsign_send_attempts": Decimal(2),
    "starsign_next_send_at": "2026-12-01T10:07:00Z",
    # as stored before results were stored by field name: camelCase, still read the same
    "star_sign_result": {"available": True, "starSign": "Leo", "scoreQuip": "84.5% fresh", "source": "rules"},
    "tv_bff_result": {"available": True, "show": "Dark", "tmdb_id": Decimal(70523), "character": "Jonas"},
    "statistics": {"showsWatched": Decimal(3), "averageRtScore": {"score": Decimal("84.9")}},
    "report_partial": True,
}


def test_every_attribute_code_reads_is_a_typed_plain_field():
    view = SessionView.from_item(ITEM)
    assert (view.source, view.movies, view.activities, view.rejected_rows) == ("netflix_csv", 1, 12, 0)
    assert (view.created_at, view.completed_at) == ("2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z")
    assert view.waves == Waves(size=10, chunk_size=50, claimed=1, sent=1)
    assert view.triggers[Stage.STAR_SIGN] == Trigger(requested_at="2026-12-01T10:03:00Z", send_attempts=2,
                                                     next_send_at="2026-12-01T10:07:00Z")
    assert view.triggers[Stage.TV_BFF] == Trigger()
    assert view.results == {
        Stage.TV_BFF: BffResult(available=True, show="Dark", tmdb_id=70523, character="Jonas"),
        Stage.STAR_SIGN: StarSignResult(available=True, star_sign="Leo", score_quip="84.5% fresh", source="rules")}
    assert view.statistics == {"showsWatched": 3, "averageRtScore": {"score": 84.9}}
    assert isinstance(view.statistics["showsWatched"], int)
    assert view.report_partial and view.start_sent
    assert (view.client_token, view.start_digest) == ("t" * 16, "abc")


def test_a_fresh_session_has_empty_defaults():
    view = SessionView.from_item({"session_id": "s-2", "state": "CRUNCHING_DATA"})
    assert view.waves == Waves() and view.results == {Stage.TV_BFF: None, Stage.STAR_SIGN: None}
    assert (view.movies, view.source, view.start_sent, view.report_partial) == (None, None, False, False)
    assert view.statistics == {}
