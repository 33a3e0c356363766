"""The fakes' contract: one scenario per repository, run on the DynamoDB repository
(moto, the template's tables) and on its in-memory fake (tests/support/fakes.py),
must give the same answers and leave the same items, so a fake cannot drift from
the conditions the stage tests rely on without this failing. Both run on one fixed
clock; stamps taken from the wall clock (TTLs, cache fetch times) are left out."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.fakes import FakeSessions, FakeShowCache, FakeViewing
from tests.support.values import statistics
from tvreport.records import CachedShow, CastMember, RtScores, ShowAlias
from tvreport.repositories._dynamo import from_dynamo
from tvreport.repositories.protocols import SessionStore, ShowCacheStore, ViewingStore
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.results import BffResult, StageResult, StarSignResult
from tvreport.session_model import SessionGone, Stage, State, active_shard

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
QSD, RT, BFF, SIGN = Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES, Stage.TV_BFF, Stage.STAR_SIGN


def _clock() -> datetime:
    return NOW


def _outcome(call: Callable[[], Any]) -> Any:
    """The call's answer, or the error it raised as a comparable value."""
    try:
        return call()
    except SessionGone:
        return "SessionGone"
    except ClientError as error:
        return f"ClientError:{error.response['Error']['Code']}"
    except (RuntimeError, ValueError) as error:
        return f"{type(error).__name__}:{error}"


def _items(viewing: Any, session_id: str) -> list[dict[str, Any]]:
    """A session's stored items as a query returns them: the contract holds the item
    shapes too, which no Protocol method returns any more."""
    if isinstance(viewing, FakeViewing):
        return [item for (partition, _), item in sorted(viewing.stored.items()) if partition == session_id]
    return viewing._query(session_id)  # the repository's own paged, consistent query


def _plain(item: dict[str, Any] | None, *drop: str) -> dict[str, Any] | None:
    return None if item is None else {k: v for k, v in from_dynamo(item).items() if k not in drop}


def session_scenario(sessions: Any) -> dict[str, Any]:
    """Every condition a stage relies on, in the order a session meets them."""
    s: SessionStore = sessions
    sessions.create("s-1", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    sessions.create("s-2", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    sessions.create("s-wait", source=None, state=State.AWAITING_CONNECTION, threshold_percent=97)
    answers = {
        "count": s.count_chunk("s-1", QSD, 0, shows_done=3, shows_failed=1),
        "count again": s.count_chunk("s-1", QSD, 0, shows_done=3, shows_failed=1),
        "count dead letter": s.count_chunk("s-1", RT, 0, shows_done=0, shows_failed=4, dead_lettered=True),
        "count missing": _outcome(lambda: s.count_chunk("missing", QSD, 0, shows_done=1, shows_failed=0)),
        "count awaiting": _outcome(lambda: s.count_chunk("s-wait", QSD, 0, shows_done=1, shows_failed=0)),
        "claim": s.claim_trigger("s-1", BFF),
        "claim again": s.claim_trigger("s-1", BFF),
        "send failed": s.record_send_failure("s-1", BFF, NOW + timedelta(minutes=2)),
        "send failed twice": s.record_send_failure("s-1", BFF, NOW + timedelta(minutes=4)),
        "sent": s.mark_trigger_sent("s-1", BFF),
        "send failed after sent": s.record_send_failure("s-1", BFF, NOW + timedelta(minutes=8)),
        "store": s.store_ai_result("s-1", BFF, BffResult(available=True, show="Dark", tmdb_id=70523, source="rules")),
        "store again": s.store_ai_result("s-1", BFF, StageResult.unavailable("STAGE_FAILED")),
        "wave 0": s.claim_wave("s-1", 0, wave_size=2, chunk_size=50),
        "wave 0 again": s.claim_wave("s-1", 0, wave_size=9, chunk_size=9),
        "wave 1 before 0 sent": s.claim_wave("s-1", 1, wave_size=2, chunk_size=50),
        "wave 0 sent": s.mark_wave_sent("s-1", 0),
        "wave 1": s.claim_wave("s-1", 1, wave_size=2, chunk_size=50),
        "wave 0 sent again": s.mark_wave_sent("s-1", 0),
        "pages": s.record_activity_pages("s-1", 3, 4, "%d/%m/%Y"),
        "totals": s.set_totals("s-1", total_shows=10, total_chunks=1, movies=2, activities=40, rejected=1),
        "active": sorted(s.active_session_ids(int(active_shard("s-1").split("#")[1]))),
        "view": s.get("s-1"),
        "complete s-2": s.complete("s-2", statistics(shows_watched=3), partial=True,
                                   star_sign=StarSignResult(available=True, star_sign="Leo", score_quip="71.5%")),
        "complete s-2 again": s.complete("s-2", statistics()),
        "view s-2": s.get("s-2"),
        "fail": s.fail("s-1", "STALLED", "x" * 600),
        "fail again": s.fail("s-1", "OTHER"),
        "store after fail": s.store_ai_result("s-1", SIGN, StageResult(available=True)),
        "claim after fail": s.claim_trigger("s-1", SIGN),
        "pages after fail": _outcome(lambda: s.record_activity_pages("s-1", 4, 4, None)),
        "count after fail": _outcome(lambda: s.count_chunk("s-1", QSD, 1, shows_done=1, shows_failed=0)),
        "count again after fail": s.count_chunk("s-1", QSD, 0, shows_done=3, shows_failed=1),
        "crunching": s.crunching("s-1"),
        "awaiting view": s.get("s-wait") and s.get("s-wait").state,
        "active after fail": sorted(s.active_session_ids(int(active_shard("s-1").split("#")[1]))),
        "missing": s.get("missing"),
        "connect": sessions.connect("s-wait", "gandalf", "digest-1"),
        "connect again": sessions.connect("s-wait", "gandalf", "digest-2"),
        "start sent": sessions.mark_start_sent("s-wait"),
        "cancel": sessions.cancel("s-wait", by="a test"),
        "cancel again": sessions.cancel("s-wait"),
        "start sent after cancel": sessions.mark_start_sent("s-wait"),
        "token of none": sessions.token_session("no-such-token", None),
    }
    answers["item s-wait"] = _plain(sessions.get_item("s-wait"))
    answers["item s-1"] = _plain(sessions.get_item("s-1"))
    answers["item s-2"] = _plain(sessions.get_item("s-2"))
    answers["ledger"] = sorted((_plain(i) for i in sessions.ledger("s-1")), key=lambda i: i["sk"])
    # DELETE: a tombstone first, the purge later.
    sessions.create("s-del", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97,
                    client_token="token-1", request_digest="d")
    s.count_chunk("s-del", QSD, 0, shows_done=1, shows_failed=0)
    answers.update({
        "replay": sessions.create("s-new", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97,
                                  client_token="token-1", request_digest="d"),
        "token reused": _outcome(lambda: sessions.create("s-new", source="gandalf", state=State.CRUNCHING_DATA,
                                                         threshold_percent=97, client_token="token-1",
                                                         request_digest="another")),
        "replay made no session": sessions.get_item("s-new"),
        "tombstone": sessions.tombstone("s-del", client_token="token-1"),
        "tombstone again": sessions.tombstone("s-del"),
        "deleted view": s.get("s-del"),
        "count deleted": _outcome(lambda: s.count_chunk("s-del", QSD, 1, shows_done=1, shows_failed=0)),
        "tombstones before": list(s.tombstones(deleted_before=NOW)),
        "tombstones after": list(s.tombstones(deleted_before=NOW + timedelta(seconds=1))),
        "tombstone shard": sorted(s.active_session_ids(0)) + sorted(s.active_session_ids(15)),
        "purge": s.purge("s-del", remove_tombstone=False),
        "purge again": s.purge("s-del", remove_tombstone=True),
        "purge gone": s.purge("s-del", remove_tombstone=True),
        "item s-del": sessions.get_item("s-del"),
        "purge a live session": _outcome(lambda: s.purge("s-2", remove_tombstone=True)),
    })
    return answers


def viewing_scenario(viewing: Any) -> dict[str, Any]:
    v: ViewingStore = viewing
    v.put_record("s-1", "dark", title="Dark", kind="show", imdb_id="tt5753856",
                 plays={"2026-01-01|1|1", "2026-01-02|1|2", "2025-01-02|1|1"})
    v.put_record("s-1", "movie:heat", title="Heat", kind="movie", plays={"2024-06-01||Heat"})
    v.put_record("s-other", "dark", title="Dark", kind="show", plays={"2026-01-01|1|1"})
    v.put_raw_page("s-1", 2, [("Dark: Season 1: Secrets", "02/01/2026", "tt5753856"), ("Heat", "01/06/2024", None)])
    v.put_raw_page("s-1", 1, [("Dark: Season 1: Lies", "01/01/2026", None)])
    answers: dict[str, Any] = {
        "set tmdb": v.set_tmdb_id("s-1", "dark", 70523),
        "set tmdb missing": _outcome(lambda: v.set_tmdb_id("s-1", "nope", 1)),
        "items": [_plain(i, "expires_at") for i in _items(v, "s-1")],
        "records": v.records("s-1", as_of=date(2026, 4, 1)),
        "pages": v.raw_pages("s-1"),
        "page numbers": v.raw_page_numbers("s-1"),
        "rewrite": v.put_record("s-1", "dark", title="Dark", kind="show", plays={"2026-01-01|1|1"}),
        "after rewrite": [_plain(i, "expires_at") for i in _items(v, "s-1")][0],
        "records after rewrite": v.records("s-1", as_of=date(2026, 4, 1)),
        "deleted": v.delete_session("s-1"),
        "items after delete": _items(v, "s-1") + list(v.raw_pages("s-1").items()),
        "records after delete": v.records("s-1", as_of=date(2026, 4, 1)),
        "other session": [r.show_key for r in v.records("s-other", as_of=date(2026, 4, 1))],
    }
    return answers


def _unstamped(show: CachedShow | None) -> CachedShow | None:
    return show and dataclasses.replace(show, fetched_at=None, rt_checked_at=None)


def show_cache_scenario(cache: Any) -> dict[str, Any]:
    c: ShowCacheStore = cache
    c.put_show(CachedShow(tmdb_id=70523, name="Dark", first_air_year=2017, genres=["Drama", "Mystery"],
                          number_of_episodes=26, popularity=12.5, imdb_id="tt5753856",
                          cast=[CastMember("Louis Hofmann", "Jonas Kahnwald", 26)]))
    answers: dict[str, Any] = {
        "get": _unstamped(c.get(70523)),
        "fresh": c.is_fresh(c.get(70523).fetched_at),
        "rt fresh before a crawl": c.rt_fresh(c.get(70523)),
        "by imdb": _unstamped(c.find_by_imdb("tt5753856")),
        "by unknown imdb": c.find_by_imdb("tt0000000"),
        "missing": c.get(1),
        "scores": c.update_rotten_tomatoes(70523, RtScores(critics_score=95, audience_score=93, url="/tv/dark",
                                                           audience_reviews=1000)),  # not cached
        "scored": _unstamped(c.get(70523)),
        "rt fresh": c.rt_fresh(c.get(70523)),
        "a miss": c.update_rotten_tomatoes(70523, None),
        "missed": _unstamped(c.get(70523)),
        "unscored": c.update_rotten_tomatoes(70523, RtScores(url="/tv/dark", critics_reviews=0)),
        "after unscored": _unstamped(c.get(70523)),
        "scores of a missing show": _outcome(lambda: c.update_rotten_tomatoes(1, RtScores(critics_score=1))),
        "refetch": c.put_show(CachedShow(tmdb_id=70523, name="Dark (2017)", genres=["Drama"])),
        "refetched": _unstamped(c.get(70523)),
        "alias": c.put_alias("dark", 70523),
        "not found": c.put_alias("nothing", None),
        "aliases": [c.get_alias("dark"), c.get_alias("nothing"), c.get_alias("unseen")],
        "aliases in a batch": c.put_aliases([("lupin", 96677), ("heat", 70523), ("heat", None)]),
        "batch aliases": c.batch_get_aliases(["dark", "lupin", "heat", "unseen", "dark"]),
        "batch": sorted(c.batch_get([70523, 1, 70523])),
    }
    return answers


@pytest.fixture
def real(moto_tables: dict[str, str]) -> tuple[SessionRepository, ViewingRepository, ShowCacheRepository]:
    return (SessionRepository(moto_tables["sessions"], 1, clock=_clock), ViewingRepository(moto_tables["viewing"], 1),
            ShowCacheRepository(moto_tables["show_cache"], 30))


def test_the_session_fake_answers_as_the_repository(real) -> None:
    expected = session_scenario(real[0])
    assert session_scenario(FakeSessions(1, clock=_clock)) == expected
    # The scenario meets every condition (it could pass vacuously otherwise).
    assert [expected[k] for k in ("count", "count again", "count missing", "count awaiting", "claim", "claim again",
                                  "store", "store again", "wave 1 before 0 sent", "wave 1", "fail", "fail again",
                                  "count after fail", "count again after fail", "tombstone", "tombstone again")] == [
        True, False, "SessionGone", "SessionGone", True, False, True, False, False, True, True, False,
        "SessionGone", False, True, False]
    assert expected["item s-1"]["failure_detail"] == "x" * 500 and "active" not in expected["item s-1"]
    assert expected["item s-1"]["sd_shows_done"] == 3 and expected["item s-1"]["rt_chunks_failed"] == 1
    assert expected["tombstones after"] == ["s-del"] and expected["tombstones before"] == []
    assert expected["purge"] == 2 and expected["item s-del"] is None  # the ledger item and the token
    assert [expected[k] for k in ("connect", "connect again", "cancel", "cancel again", "start sent after cancel")] == [
        True, False, True, False, False]
    assert expected["replay"] == ("s-del", False) and expected["token reused"].startswith("ClientTokenReused")
    assert expected["purge a live session"] == "RuntimeError:refusing to purge a session that is not deleted"
    # Typed values in and out; results stored by field name, statistics as the report shows them.
    assert expected["view s-2"].results[SIGN] == StarSignResult(available=True, star_sign="Leo", score_quip="71.5%")
    assert expected["item s-2"]["star_sign_result"] == {"available": True, "star_sign": "Leo", "score_quip": "71.5%"}
    assert expected["item s-2"]["statistics"]["showsWatched"] == 3
    assert expected["item s-1"]["tv_bff_result"] == {"available": True, "show": "Dark", "tmdb_id": 70523,
                                                     "source": "rules"}


def test_the_viewing_fake_answers_as_the_repository(real) -> None:
    expected = viewing_scenario(real[1])
    assert viewing_scenario(FakeViewing(1)) == expected
    assert expected["set tmdb missing"] == "ClientError:ConditionalCheckFailedException"
    assert [r.episodes_last_year for r in expected["records"]] == [2, 0] and expected["deleted"] == 4
    assert expected["records after rewrite"][0].tmdb_id == 70523  # written once: the match stays
    assert expected["records after delete"] == [] and expected["other session"] == ["dark"]


def test_the_show_cache_fake_answers_as_the_repository(real) -> None:
    expected = show_cache_scenario(real[2])
    assert show_cache_scenario(FakeShowCache(30)) == expected
    assert expected["missed"].rt_critics_score == 95 and expected["missed"].rt_outcome == "not_found"
    assert expected["refetched"].popularity == 12.5 and expected["refetched"].rt_audience_score == 93
    assert expected["scores of a missing show"] == "ClientError:ConditionalCheckFailedException"
    assert expected["aliases"] == [ShowAlias(70523, fresh=True), ShowAlias(None, fresh=True), None]
    assert expected["batch aliases"] == {"dark": ShowAlias(70523, fresh=True), "lupin": ShowAlias(96677, fresh=True),
                                         "heat": ShowAlias(None, fresh=True)}  # the last put for a key wins
    after = expected["after unscored"]
    assert (after.rt_outcome, after.rt_critics_reviews, after.rt_critics_score) == ("unscored", 0, 95)
