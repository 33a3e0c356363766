"""Per-session bounds and late or duplicate work (moto, the template's tables): a cap
on distinct shows, late AI results, and a dead-lettered duplicate hand-off chain."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import REGION
from tests.integration.test_tracker import export
from tests.support.events import api_event, sqs_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.queues import drain
from tests.support.stored import stored_session
from tests.support.values import statistics
from tvreport import env_keys
from tvreport.clients.ai import TvPersonalityAI
from tvreport.messages import ActivitiesRequest, AiStageRequest
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.results import StageResult, StarSignResult
from tvreport.session_model import Stage, State, result_attribute
from tvreport.stages import ai_stages, query_activities
from tvreport.stages.ai_stages import AiDeps
from tvreport.stages.query_activities import ActivitiesDeps

DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:query-activities-dlq"


@pytest.fixture
def sessions(moto_tables) -> SessionRepository:
    return SessionRepository(moto_tables["sessions"], ttl_days=1)


def test_an_export_past_the_show_cap_is_refused_with_a_clear_422(moto_tables, function_env):
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="activities")["QueueUrl"]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="uploads")
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queue_url, env_keys.UPLOADS_BUCKET: "uploads",
                  env_keys.MAX_SHOWS_PER_SESSION: "25"})
    api = load_handler("api")

    def create(shows: int) -> tuple[int, dict]:
        body = {"netflixCsv": export(shows).decode()}
        response = api.handler(api_event("POST", "/sessions", body), FakeContext())
        return response["statusCode"], json.loads(response["body"])

    status, body = create(26)
    assert (status, body) == (422, {"message": "the export has 26 distinct shows; a session may have at most 25"})
    assert drain(queue_url) == []  # nothing started
    status, body = create(25)
    assert status == 201 and body["state"] == "CRUNCHING_DATA"


def test_a_history_past_the_show_cap_fails_with_a_reason(moto_tables, sessions):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("activities", "showdata")}
    deps = ActivitiesDeps(sessions, ViewingRepository(moto_tables["viewing"], ttl_days=1), queues["activities"],
                          queues["showdata"], chunk_size=50, gandalf=lambda: None, read_upload=lambda key: export(31),
                          max_shows=30)
    sessions.create("long", source="netflix_csv", state=State.CRUNCHING_DATA, threshold_percent=97)
    query_activities.handle(ActivitiesRequest(session_id="long", source="netflix_csv", upload_key="k"),
                            lambda: 900_000, deps)
    view = sessions.get("long")
    assert (view.state, view.failure_reason) == (State.FAILED, "TOO_MANY_SHOWS")
    assert stored_session(sessions, "long")["failure_detail"] == "31 distinct shows; a session may have at most 30"
    assert view.total_chunks is None and drain(queues["showdata"]) == []


def test_a_late_ai_result_does_not_change_a_completed_report(moto_tables, sessions):
    sessions.create("done", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    sessions.set_totals("done", total_shows=0, total_chunks=0, movies=0, activities=0, rejected=0)

    def ai_while_the_watchdog_completes() -> TvPersonalityAI:
        # The watchdog completes the session while the AI call is under way.
        assert sessions.complete("done", statistics(shows_watched=1), partial=True)
        return TvPersonalityAI(None)  # no key: the rules answer

    deps = AiDeps(sessions, ViewingRepository(moto_tables["viewing"], 1),
                  ShowCacheRepository(moto_tables["show_cache"], 30), ai=ai_while_the_watchdog_completes)
    ai_stages.handle(AiStageRequest(session_id="done", stage="star_sign"), deps)
    item = sessions.get_item("done")
    assert item["state"] == "COMPLETED" and item["statistics"]["showsWatched"] == 1
    assert "star_sign_result" not in item and "starsign_done_at" not in item
    assert not sessions.store_ai_result("done", Stage.TV_BFF, StageResult(available=False))


@pytest.fixture
def dead_letters(moto_tables, function_env):
    function_env({env_keys.DEAD_LETTER_SOURCES: json.dumps({DLQ_ARN: "query_activities"})})
    module = load_handler("dead_letters")

    def deliver(request: ActivitiesRequest) -> dict:
        return module.handler(sqs_event([request.serialize()], queue_arn=DLQ_ARN), FakeContext())

    return deliver


def test_a_dead_lettered_duplicate_hand_off_does_not_fail_the_session(sessions, dead_letters):
    sessions.create("two-chains", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    # The other chain has stored pages 1-6 of 10 (a duplicate of the page-4 hand-off died).
    sessions.record_activity_pages("two-chains", 6, 10, "%d/%m/%Y")
    request = ActivitiesRequest(session_id="two-chains", source="gandalf", data_key="k", next_page=4)
    assert dead_letters(request) == {"batchItemFailures": []}
    assert sessions.get("two-chains").state is State.CRUNCHING_DATA
    # ... and once the history is split, no dead-lettered slice fails it either.
    sessions.set_totals("two-chains", total_shows=3, total_chunks=1, movies=0, activities=9, rejected=0)
    dead_letters(request.model_copy(update={"next_page": 9}))
    assert sessions.get("two-chains").state is State.CRUNCHING_DATA


def test_a_dead_lettered_slice_no_chain_got_past_fails_the_session(sessions, dead_letters):
    sessions.create("one-chain", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    sessions.record_activity_pages("one-chain", 6, 10, "%d/%m/%Y")
    dead_letters(ActivitiesRequest(session_id="one-chain", source="gandalf", data_key="k", next_page=7))
    view = sessions.get("one-chain")
    assert (view.state, view.failure_reason) == (State.FAILED, "UPSTREAM_UNAVAILABLE")


def test_completion_stores_the_rederived_star_sign_in_the_same_write(moto_tables):
    sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)
    sessions.create("sign", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    assert sessions.store_ai_result("sign", Stage.STAR_SIGN, sign("at the mark"))
    assert sessions.complete("sign", statistics(shows_watched=1), star_sign=sign("final"))
    view = sessions.get("sign")
    assert view.state is State.COMPLETED
    assert view.results[Stage.STAR_SIGN] == sign("final")
    assert stored_session(sessions, "sign")[result_attribute(Stage.STAR_SIGN)]["score_quip"] == "final"  # stored by field name
    # an ended session takes no other star sign
    assert not sessions.complete("sign", statistics(shows_watched=1), star_sign=sign("late"))
    assert sessions.get("sign").results[Stage.STAR_SIGN] == sign("final")


def sign(score_quip: str) -> StarSignResult:
    return StarSignResult(available=True, source="rules", score_quip=score_quip)
