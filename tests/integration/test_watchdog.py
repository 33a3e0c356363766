"""The watchdog: stale claims re-sent, stalled sessions ended by the thresholds."""
from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from tests.integration.conftest import REGION
from tvreport.repositories._dynamo import utc_now
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import Stage, State
from tvreport.stages.tracker import TrackerDeps
from tvreport.stages.watchdog import sweep

STALL = timedelta(hours=1)


@pytest.fixture
def deps(moto_tables):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {stage: sqs.create_queue(QueueName=stage.value)["QueueUrl"] for stage in (Stage.TV_BFF, Stage.STAR_SIGN)}
    return TrackerDeps(SessionRepository(moto_tables["sessions"], 1), ViewingRepository(moto_tables["viewing"], 1),
                       ShowCacheRepository(moto_tables["show_cache"], 30), queues)


def session(deps: TrackerDeps, session_id: str, sd_done: int, rt_done: int) -> None:
    repo = deps.sessions
    repo.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    repo.set_totals(session_id, total_shows=100, total_chunks=2, movies=0, activities=0, rejected=0)
    repo.count_chunk(session_id, Stage.QUERY_SHOW_DATA, 0, shows_done=sd_done, shows_failed=0)
    repo.count_chunk(session_id, Stage.CRAWL_ROTTEN_TOMATOES, 0, shows_done=rt_done, shows_failed=0)


def messages(deps: TrackerDeps, stage: Stage) -> list[dict]:
    got = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=deps.queue_urls[stage],
                                                                  MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_fresh_sessions_are_left_alone(deps):
    session(deps, "fresh", 50, 50)
    assert sweep(deps, STALL) == {"resent": 0, "completed": 0, "failed": 0}
    assert deps.sessions.get("fresh").state is State.CRUNCHING_DATA


def test_stalled_sessions_end_by_the_thresholds(deps):
    session(deps, "far-along", 97, 97)  # both stages at the threshold: complete with what it has
    session(deps, "stuck", 50, 10)
    outcome = sweep(deps, STALL, now=utc_now() + 2 * STALL)
    assert outcome == {"resent": 0, "completed": 1, "failed": 1}
    done, stuck = deps.sessions.get("far-along"), deps.sessions.get("stuck")
    assert done.state is State.COMPLETED and done.item["report_partial"] is True
    assert (stuck.state, stuck.failure_reason) == (State.FAILED, "STALLED")
    assert list(deps.sessions.active_sessions()) == []  # ended sessions leave the index


def test_a_claim_left_unsent_by_a_crash_is_sent_again(deps):
    session(deps, "crashed", 100, 100)
    assert deps.sessions.claim_trigger("crashed", Stage.TV_BFF)  # ... and the process died before sending
    assert sweep(deps, STALL, now=utc_now() + timedelta(minutes=1))["resent"] == 0  # too recent: maybe in flight
    assert sweep(deps, STALL, now=utc_now() + timedelta(minutes=5))["resent"] == 1
    assert messages(deps, Stage.TV_BFF) == [{"session_id": "crashed", "stage": "tv_bff"}]
    assert Stage.TV_BFF in deps.sessions.get("crashed").sent
    assert sweep(deps, STALL, now=utc_now() + timedelta(minutes=10))["resent"] == 0
