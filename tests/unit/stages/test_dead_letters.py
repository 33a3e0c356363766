"""dead_letters.handle over the fakes: a message that exhausted its retries is
counted executed-but-failed (once, whatever the redeliveries), an AI stage gets an
unavailable result, a history slice fails the session unless another chain got
past it; an unreadable body is dropped; an unmapped queue fails the record."""
from __future__ import annotations

import pytest

from tests.unit.stages.conftest import World
from tvreport.messages import ActivitiesRequest, AiStageRequest, RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.session_model import SessionGone, Stage, State, result_attribute
from tvreport.stages import dead_letters

ARNS = {stage: f"arn:aws:sqs:us-east-1:123456789012:{stage.value}-dlq" for stage in Stage}


def deps(world: World) -> dead_letters.DeadLetterDeps:
    return dead_letters.DeadLetterDeps(world.sessions, {arn: stage for stage, arn in ARNS.items()})


def test_a_show_data_chunk_is_counted_failed_for_both_chunk_stages_once(world: World) -> None:
    session_id = world.crunching(total_shows=3)
    body = ShowChunk(session_id=session_id, chunk_id=4, shows=[ShowRef(show_key=k, title=k) for k in "abc"])
    for _ in range(2):  # the redelivery counts nothing more
        dead_letters.handle(body.model_dump_json(), ARNS[Stage.QUERY_SHOW_DATA], deps(world))
    view = world.sessions.get(session_id)
    assert view is not None
    for counters in (view.show_data, view.rotten_tomatoes):
        assert (counters.chunks_failed, counters.shows_failed, counters.chunks_done, counters.shows_done) == (1, 3, 0, 0)
    assert [i["dead_lettered"] for i in world.sessions.ledger(session_id)] == [True, True]


def test_a_crawl_chunk_counts_its_shows_and_those_not_on_tmdb(world: World) -> None:
    session_id = world.crunching(total_shows=5)
    body = RtChunk(session_id=session_id, chunk_id=0, not_on_tmdb=2,
                   shows=[RtShowRef(show_key="dark", title="Dark", tmdb_id=70523)])
    dead_letters.handle(body.model_dump_json(), ARNS[Stage.CRAWL_ROTTEN_TOMATOES], deps(world))
    view = world.sessions.get(session_id)
    assert view is not None and view.rotten_tomatoes.shows_failed == 3 and view.show_data.chunks_executed == 0


@pytest.mark.parametrize("stage", [Stage.TV_BFF, Stage.STAR_SIGN])
def test_an_ai_stage_gets_an_unavailable_result(world: World, stage: Stage) -> None:
    session_id = world.crunching(total_shows=1)
    body = AiStageRequest(session_id=session_id, stage=stage.value).model_dump_json()
    dead_letters.handle(body, ARNS[stage], deps(world))
    assert world.item()[result_attribute(stage)] == {"available": False, "reason": "STAGE_FAILED"}
    assert stage in world.sessions.get(session_id).done


def test_a_history_slice_no_chain_got_past_fails_the_session(world: World) -> None:
    session_id = world.crunching()
    world.sessions.record_activity_pages(session_id, 4, 10, None)
    body = ActivitiesRequest(session_id=session_id, source="gandalf", data_key="k" * 16, next_page=5).serialize()
    dead_letters.handle(body, ARNS[Stage.QUERY_ACTIVITIES], deps(world))
    assert world.item()["state"] == State.FAILED.value
    assert world.item()["failure_reason"] == "UPSTREAM_UNAVAILABLE"


def test_a_slice_another_chain_got_past_leaves_the_session_crunching(world: World) -> None:
    session_id = world.crunching()
    world.sessions.record_activity_pages(session_id, 7, 10, None)
    body = ActivitiesRequest(session_id=session_id, source="gandalf", data_key="k" * 16, next_page=5).serialize()
    dead_letters.handle(body, ARNS[Stage.QUERY_ACTIVITIES], deps(world))
    assert world.item()["state"] == State.CRUNCHING_DATA.value


def test_an_unreadable_dead_letter_is_dropped_and_an_unmapped_queue_is_an_error(world: World) -> None:
    session_id = world.crunching(total_shows=1)
    before = world.item()
    dead_letters.handle("{not json", ARNS[Stage.QUERY_SHOW_DATA], deps(world))
    assert world.item() == before and world.sessions.ledger(session_id) == []
    with pytest.raises(dead_letters.UnknownDeadLetterSource):
        dead_letters.handle("{}", "arn:aws:sqs:us-east-1:123456789012:other", deps(world))


def test_a_dead_letter_for_a_gone_session_raises_session_gone(world: World) -> None:
    """batch_handler acknowledges SessionGone: nothing is left to count."""
    body = ShowChunk(session_id="gone", chunk_id=0, shows=[ShowRef(show_key="a", title="a")])
    with pytest.raises(SessionGone):
        dead_letters.handle(body.model_dump_json(), ARNS[Stage.QUERY_SHOW_DATA], deps(world))
