"""The watchdog: stale claims re-sent with backoff, due work done for quiet sessions,
stalled sessions ended by the processed thresholds, each session isolated."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import boto3
import pytest

from tests.integration.conftest import REGION
from tests.support.queues import drain, follow_up_queues
from tvreport.repositories._dynamo import utc_now
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.results import StageResult
from tvreport.schema import FOLLOW_UPS
from tvreport.session_model import Stage, State, active_shard, session_pk
from tvreport.stages import chunk_waves
from tvreport.stages.tracker import TrackerDeps, on_session_image
from tvreport.stages.watchdog import sweep

STALL = timedelta(hours=1)
NOTHING = {"resent": 0, "acted": 0, "completed": 0, "failed": 0, "purged": 0, "errors": 0}


class Clock:
    """The repository's clock, moved by the test (stamps are written with it)."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(moto_tables, clock):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = follow_up_queues()  # one per follow-up stage of the registry
    show_data = sqs.create_queue(QueueName="show-data")["QueueUrl"]
    return TrackerDeps(SessionRepository(moto_tables["sessions"], 1, clock=clock),
                       ViewingRepository(moto_tables["viewing"], 1), ShowCacheRepository(moto_tables["show_cache"], 30),
                       queues, show_data)


def session(deps: TrackerDeps, session_id: str, sd_done: int, rt_done: int, sd_failed: int = 0,
            rt_failed: int = 0) -> None:
    repo = deps.sessions
    repo.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    repo.set_totals(session_id, total_shows=100, total_chunks=2, movies=0, activities=0, rejected=0)
    repo.count_chunk(session_id, Stage.QUERY_SHOW_DATA, 0, shows_done=sd_done, shows_failed=sd_failed)
    repo.count_chunk(session_id, Stage.CRAWL_ROTTEN_TOMATOES, 0, shows_done=rt_done, shows_failed=rt_failed)


def messages(deps: TrackerDeps, stage: Stage) -> list[dict]:
    got = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=deps.queue_urls[stage],
                                                                  MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_fresh_sessions_are_left_alone(deps):
    session(deps, "fresh", 50, 50)
    assert sweep(deps, STALL) == NOTHING
    assert deps.sessions.get("fresh").state is State.CRUNCHING_DATA


def test_stalled_sessions_end_by_the_thresholds(deps):
    session(deps, "far-along", 97, 97)  # both stages at the threshold: complete with what it has
    session(deps, "stuck", 50, 10, rt_failed=40)
    for session_id in ("far-along", "stuck"):
        on_session_image(deps.sessions.get_item(session_id), deps)  # the tracker emits what is due
    assert messages(deps, Stage.STAR_SIGN) == [{"session_id": "far-along", "stage": "star_sign"}]
    outcome = sweep(deps, STALL, now=utc_now() + 2 * STALL)
    assert outcome == {**NOTHING, "completed": 1, "failed": 1}
    done, stuck = deps.sessions.get("far-along"), deps.sessions.get("stuck")
    assert done.state is State.COMPLETED and done.report_partial is True
    assert (stuck.state, stuck.failure_reason) == (State.FAILED, "STALLED")
    assert list(deps.sessions.active_sessions()) == []  # ended sessions leave the index


def test_a_stalled_session_with_unmatched_titles_completes(deps):
    # 7 % not on TMDB, 17 % without a score: 97 % processed in both stages.
    session(deps, "unmatched", 90, 80, sd_failed=7, rt_failed=17)
    on_session_image(deps.sessions.get_item("unmatched"), deps)
    assert Stage.STAR_SIGN in deps.sessions.get("unmatched").sent
    assert sweep(deps, STALL, now=utc_now() + 2 * STALL)["completed"] == 1
    view = deps.sessions.get("unmatched")
    assert (view.state, view.report_partial) == (State.COMPLETED, True)


def test_a_claim_left_unsent_by_a_crash_is_sent_again(deps):
    session(deps, "crashed", 100, 100)
    assert deps.sessions.claim_trigger("crashed", Stage.TV_BFF)  # ... and the process died before sending
    assert sweep(deps, STALL, now=utc_now() + timedelta(minutes=1))["resent"] == 0  # too recent: maybe in flight
    assert sweep(deps, STALL, now=utc_now() + timedelta(minutes=5))["resent"] == 1
    assert messages(deps, Stage.TV_BFF) == [{"session_id": "crashed", "stage": "tv_bff"}]
    assert Stage.TV_BFF in deps.sessions.get("crashed").sent
    assert sweep(deps, STALL, now=utc_now() + timedelta(minutes=10))["resent"] == 0


def test_a_send_that_keeps_failing_is_retried_with_backoff_and_the_session_still_ends(deps, clock):
    session(deps, "unsendable", 50, 50)
    start = clock.now
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.delete_queue(QueueUrl=deps.queue_urls[Stage.TV_BFF])  # every send fails from here
    deps.sessions.count_chunk("unsendable", Stage.QUERY_SHOW_DATA, 1, shows_done=50, shows_failed=0)
    on_session_image(deps.sessions.get_item("unsendable"), deps)  # claims tvBFF, the send fails
    view = deps.sessions.get("unsendable")
    assert Stage.TV_BFF in view.requested and Stage.TV_BFF not in view.sent
    assert view.triggers[Stage.TV_BFF].send_attempts == 1

    # The failure's own stream record calls for nothing: no release, no new claim.
    on_session_image(deps.sessions.get_item("unsendable"), deps)
    assert deps.sessions.get("unsendable").triggers[Stage.TV_BFF].send_attempts == 1

    # Backoff: 2 minutes after the first failure, then 4 after the second.
    tries = []
    for minutes in (1, 3, 5, 8, 50):
        clock.now = start + timedelta(minutes=minutes)
        tries.append(sweep(deps, STALL, now=clock.now)["resent"])
    assert tries == [0, 1, 0, 1, 1]
    assert deps.sessions.get("unsendable").triggers[Stage.TV_BFF].send_attempts == 4

    # Those bookkeeping writes are not progress: the session still stalls out.
    clock.now = start + STALL + timedelta(minutes=1)
    assert sweep(deps, STALL, now=clock.now)["failed"] == 1  # rt at 50 %: below the threshold
    assert deps.sessions.get("unsendable").failure_reason == "STALLED"


def test_the_queue_coming_back_ends_the_retries(deps, clock):
    session(deps, "recovers", 100, 100)
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.delete_queue(QueueUrl=deps.queue_urls[Stage.TV_BFF])
    deps.sessions.count_chunk("recovers", Stage.QUERY_SHOW_DATA, 1, shows_done=0, shows_failed=0)
    on_session_image(deps.sessions.get_item("recovers"), deps)
    assert Stage.TV_BFF in deps.sessions.get("recovers").requested
    assert Stage.TV_BFF not in deps.sessions.get("recovers").sent
    sqs.create_queue(QueueName=Stage.TV_BFF.value)  # same name, same URL
    clock.now += timedelta(minutes=3)
    assert sweep(deps, STALL, now=clock.now)["resent"] == 1
    assert messages(deps, Stage.TV_BFF) == [{"session_id": "recovers", "stage": "tv_bff"}]
    assert Stage.TV_BFF in deps.sessions.get("recovers").sent


def test_a_lost_stream_record_leaves_nothing_undone(deps, clock):
    # The tracker never saw these images (its record was dropped after its retries).
    session(deps, "lost-record", 100, 100)
    deps.sessions.count_chunk("lost-record", Stage.QUERY_SHOW_DATA, 1, shows_done=0, shows_failed=0)
    deps.sessions.count_chunk("lost-record", Stage.CRAWL_ROTTEN_TOMATOES, 1, shows_done=0, shows_failed=0)
    assert sweep(deps, STALL, now=clock.now)["acted"] == 0  # not quiet yet: the tracker's turn
    clock.now += timedelta(minutes=3)
    assert sweep(deps, STALL, now=clock.now)["acted"] == 1
    assert messages(deps, Stage.TV_BFF) == [{"session_id": "lost-record", "stage": "tv_bff"}]
    assert messages(deps, Stage.STAR_SIGN) == [{"session_id": "lost-record", "stage": "star_sign"}]
    # every follow-up result stored, their records lost too: the watchdog completes the session
    for spec in FOLLOW_UPS:
        deps.sessions.store_ai_result("lost-record", spec.stage, StageResult(available=False))
    clock.now += timedelta(minutes=3)
    assert sweep(deps, STALL, now=clock.now)["acted"] == 1
    view = deps.sessions.get("lost-record")
    assert (view.state, view.report_partial) == (State.COMPLETED, False)


def test_one_sessions_error_does_not_stop_the_sweep(deps, moto_tables):
    # Items the code cannot read (a claim stamp that is no date), beside a stalled session.
    for bad in ("broken-1", "broken-2"):
        boto3.resource("dynamodb", region_name=REGION).Table(moto_tables["sessions"]).put_item(Item={
            "pk": session_pk(bad), "sk": "META", "session_id": bad, "state": "CRUNCHING_DATA",
            "tvbff_requested_at": "not a date", "active": active_shard(bad),
            "created_at": "2020-01-01T00:00:00.000Z"})
    session(deps, "stuck", 50, 10, rt_failed=40)
    outcome = sweep(deps, STALL, now=utc_now() + 2 * STALL)
    assert outcome == {**NOTHING, "failed": 1, "errors": 2}
    assert deps.sessions.get("stuck").failure_reason == "STALLED"


def test_every_index_shard_is_swept(deps):
    ids = [f"session-{n}" for n in range(40)]
    assert len({active_shard(i) for i in ids}) > 8
    for session_id in ids:
        session(deps, session_id, 50, 10, rt_failed=40)
    assert sweep(deps, STALL, now=utc_now() + 2 * STALL)["failed"] == 40


@pytest.mark.parametrize("queue_comes_back", [True, False])
def test_a_wave_whose_send_failed_is_sent_again_or_the_session_ends(deps, clock, queue_comes_back):
    repo, sqs = deps.sessions, boto3.client("sqs", region_name=REGION)
    repo.create("waves", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    for n in range(12):
        deps.viewing.add_plays("waves", f"show {n:02d}", title=f"Show {n:02d}", kind="show", plays={"2023-01-01||1"})
    plan = chunk_waves.chunk_messages("waves", deps.viewing.records("waves", as_of=date.today()), chunk_size=2)
    repo.set_totals("waves", total_shows=12, total_chunks=len(plan), movies=0, activities=12, rejected=0)
    chunk_waves.start("waves", plan, wave_size=2, chunk_size=2, deps=deps.waves)
    assert [m["chunk_id"] for m in drain(deps.show_data_queue_url)] == [0, 1]

    sqs.delete_queue(QueueUrl=deps.show_data_queue_url)
    on_session_image(repo.get_item("waves"), deps)  # wave 1 is due: claimed, its send fails
    view = repo.get("waves")
    assert (view.waves.claimed, view.waves.sent) == (2, 1)
    clock.now += timedelta(minutes=3)
    assert sweep(deps, STALL, now=clock.now) == {**NOTHING, "resent": 1}  # failed again: not an error

    if queue_comes_back:
        sqs.create_queue(QueueName="show-data")
        clock.now += timedelta(minutes=5)
        assert sweep(deps, STALL, now=clock.now)["resent"] == 1
        assert [m["chunk_id"] for m in drain(deps.show_data_queue_url)] == [2, 3]
        assert repo.get("waves").waves.sent == 2
    else:
        clock.now += STALL
        assert sweep(deps, STALL, now=clock.now) == {**NOTHING, "resent": 1, "failed": 1}
        assert repo.get("waves").failure_reason == "STALLED"


