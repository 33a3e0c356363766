"""DELETE while a stage is working (moto, the API handler, real stage functions): the
session is tombstoned first, so no stage write brings it back; GET answers 404; the
watchdog's second pass removes what a mid-flight stage still wrote."""
from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from tests.integration.conftest import REGION
from tests.integration.test_exactly_once import stream_event
from tests.support.events import api_event, sqs_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.queues import follow_up_environment
from tests.support.values import statistics
from tvreport import env_keys
from tvreport.batch_handler import batch_handler, parse_message
from tvreport.clients.errors import UpstreamError
from tvreport.messages import ActivitiesRequest, RtChunk, RtShowRef
from tvreport.repositories._dynamo import utc_now
from tvreport.repositories.sessions import SessionGone, SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.results import StageResult
from tvreport.session_model import DELETED_STATE, Stage, session_pk
from tvreport.stages import crawl_rotten_tomatoes, purge, query_activities
from tvreport.stages.tracker import TrackerDeps
from tvreport.stats import RankedShow


def later():
    """When the second pass may run: past any invocation that read before the DELETE."""
    return utc_now() + purge.PURGE_AFTER + timedelta(seconds=1)


@pytest.fixture
def world(moto_tables, function_env):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {n: sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("activities", "show-data", "tvbff", "starsign")}
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="uploads")
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queues["activities"], env_keys.UPLOADS_BUCKET: "uploads",
                  **follow_up_environment({Stage.TV_BFF: queues["tvbff"], Stage.STAR_SIGN: queues["starsign"]}),
                  env_keys.QUERY_SHOW_DATA_QUEUE_URL: queues["show-data"]})
    api = load_handler("api")

    class World:
        sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)
        viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
        cache = ShowCacheRepository(moto_tables["show_cache"], max_age_days=30)
        queue = queues
        tables = moto_tables

        @staticmethod
        def call(method: str, path: str, body=None):
            response = api.handler(api_event(method, path, body), FakeContext())
            return response["statusCode"], json.loads(response["body"] or "null")

        def start(self, csv_text: str | None = None) -> str:
            body = {"netflixCsv": csv_text} if csv_text else {"dataKey": "key-1"}
            status, created = self.call("POST", "/sessions", body)
            assert status == 201
            return created["sessionId"]

        def delete(self, session_id: str) -> None:
            assert self.call("DELETE", f"/sessions/{session_id}")[0] == 200

        def items(self, session_id: str) -> dict[str, list[dict]]:
            resource = boto3.resource("dynamodb", region_name=REGION)
            sessions = resource.Table(moto_tables["sessions"]).scan()["Items"]
            viewing = resource.Table(moto_tables["viewing"]).scan()["Items"]
            return {"sessions": [i for i in sessions if i["pk"] == session_pk(session_id) or
                                 i.get("session_id") == session_id],
                    "viewing": [i for i in viewing if i["session_id"] == session_id]}

        def sweep(self) -> int:
            return purge.sweep_deleted(self.sessions, self.viewing, now=later())

    return World()


def only_a_tombstone(world, session_id: str) -> None:
    (item,) = world.items(session_id)["sessions"]
    assert item["state"] == DELETED_STATE and "statistics" not in item and "total_shows" not in item
    assert world.call("GET", f"/sessions/{session_id}")[0] == 404


# Every write a stage makes to a session item, as the stage makes it after its read.
STAGE_WRITES = {
    "record_activity_pages": lambda s, sid: s.record_activity_pages(sid, 1, 3, "%d/%m/%Y"),
    "set_totals": lambda s, sid: s.set_totals(sid, total_shows=10, total_chunks=1, movies=0, activities=20,
                                              rejected=0),
    "count_chunk": lambda s, sid: s.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=10, shows_failed=0),
    "claim_trigger": lambda s, sid: s.claim_trigger(sid, Stage.TV_BFF),
    "record_send_failure": lambda s, sid: s.record_send_failure(sid, Stage.TV_BFF, utc_now()),
    "claim_wave": lambda s, sid: s.claim_wave(sid, 0, wave_size=10, chunk_size=50),
    "mark_wave_sent": lambda s, sid: s.mark_wave_sent(sid, 0),
    "mark_trigger_sent": lambda s, sid: s.mark_trigger_sent(sid, Stage.TV_BFF),
    "store_ai_result": lambda s, sid: s.store_ai_result(sid, Stage.STAR_SIGN, StageResult(available=True)),
    "mark_start_sent": lambda s, sid: s.mark_start_sent(sid),
    "fail": lambda s, sid: s.fail(sid, "STALLED"),
    "complete": lambda s, sid: s.complete(
        sid, statistics(top_shows=[RankedShow(title="a title", episodes=1, tmdb_id=None)])),
}


@pytest.mark.parametrize("write", sorted(STAGE_WRITES))
def test_no_stage_write_after_delete_brings_the_session_back(world, write):
    sid = world.start()
    assert world.sessions.crunching(sid) is not None  # the stage's read
    world.delete(sid)
    try:
        outcome = STAGE_WRITES[write](world.sessions, sid)  # ... and its write
    except SessionGone:
        outcome = "gone"
    assert outcome in (False, "gone")
    only_a_tombstone(world, sid)
    assert world.sweep() == 1
    assert world.items(sid) == {"sessions": [], "viewing": []}


def test_query_activities_mid_flight_leaves_stragglers_the_second_pass_removes(world, real_fixtures):
    csv_text = (real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv").read_text()
    sid = world.start(csv_text)
    s3 = boto3.client("s3", region_name=REGION)

    def read_upload_then_user_deletes(key: str) -> bytes:
        body = s3.get_object(Bucket="uploads", Key=key)["Body"].read()
        world.delete(sid)  # DELETE arrives while the stage works
        return body

    deps = query_activities.ActivitiesDeps(world.sessions, world.viewing, world.queue["activities"],
                                           world.queue["show-data"], chunk_size=50, gandalf=lambda: None,
                                           read_upload=read_upload_then_user_deletes)
    handler = batch_handler(lambda record, _: query_activities.handle(
        parse_message(record, ActivitiesRequest), lambda: 60_000, deps))
    start = ActivitiesRequest(session_id=sid, source="netflix_csv", upload_key=f"uploads/{sid}.csv")
    assert handler(sqs_event([start.model_dump_json()]), FakeContext()) == {"batchItemFailures": []}

    only_a_tombstone(world, sid)
    stragglers = world.items(sid)["viewing"]
    assert stragglers  # written between the tombstone and the stage's next session write
    assert boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=world.queue["show-data"]).get("Messages") is None  # no chunk sent for a gone session
    assert "Contents" not in s3.list_objects_v2(Bucket="uploads")

    assert purge.sweep_deleted(world.sessions, world.viewing, now=utc_now()) == 0  # too soon: maybe in flight
    assert world.sweep() == 1
    assert world.items(sid) == {"sessions": [], "viewing": []}
    assert world.call("GET", f"/sessions/{sid}")[0] == 404


def test_a_crawl_mid_flight_is_acknowledged_without_counting(world):
    sid = world.start()

    def rotten_tomatoes():
        world.delete(sid)  # DELETE arrives while the page is fetched
        raise UpstreamError("page unavailable", service="rottentomatoes", status=503)

    deps = crawl_rotten_tomatoes.CrawlDeps(world.sessions, world.cache, rotten_tomatoes)
    handler = batch_handler(lambda record, _: crawl_rotten_tomatoes.handle(parse_message(record, RtChunk), deps))
    chunk = RtChunk(session_id=sid, chunk_id=0, not_on_tmdb=0,
                    shows=[RtShowRef(show_key="dark", title="Dark", tmdb_id=70523, first_air_year=2017, cast=[])])
    assert handler(sqs_event([chunk.model_dump_json()]), FakeContext()) == {"batchItemFailures": []}
    only_a_tombstone(world, sid)  # no ledger item, no counters
    assert world.sweep() == 1 and world.items(sid)["sessions"] == []


def test_the_tracker_acknowledges_tombstone_and_stateless_images(world, moto_tables):
    sid = world.start()
    world.delete(sid)
    # an item without a state, as an unconditional write used to leave behind
    boto3.resource("dynamodb", region_name=REGION).Table(moto_tables["sessions"]).put_item(
        Item={"pk": session_pk("stray"), "sk": "META", "session_id": "stray", "sd_chunks_done": 1})
    assert world.sessions.get("stray") is None
    assert world.call("GET", "/sessions/00000000-0000-4000-8000-000000000000")[0] == 404

    tracker = load_handler("progress_tracker")
    event = stream_event(moto_tables["sessions"])
    images = {r["dynamodb"]["NewImage"].get("state", {}).get("S") for r in event["Records"]
              if "NewImage" in r["dynamodb"]}
    assert {DELETED_STATE, None} <= images
    assert tracker.handler(event, FakeContext()) == {"batchItemFailures": []}  # no poison record


def test_delete_twice_and_calls_on_a_deleted_session_answer_404(world):
    sid = world.start()
    world.delete(sid)
    for method, path, body in (("DELETE", f"/sessions/{sid}", None), ("GET", f"/sessions/{sid}/report", None),
                               ("POST", f"/sessions/{sid}/connect", {"dataKey": "k"})):
        assert world.call(method, path, body)[0] == 404


def test_the_watchdog_sweep_runs_the_second_pass(world, moto_tables):
    from tvreport.stages.watchdog import sweep

    sid = world.start()
    world.delete(sid)
    world.viewing.add_plays(sid, "show#late", title="Late", kind="show", plays={"2024-01-01|e1"})  # a straggler
    deps = TrackerDeps(world.sessions, world.viewing, world.cache, {}, "")
    sweep(deps, timedelta(hours=1), now=later())
    assert world.items(sid) == {"sessions": [], "viewing": []}


def test_show_data_and_ai_stages_mid_flight_write_nothing_back(world):
    from tvreport.clients.ai import TvPersonalityAI
    from tvreport.messages import AiStageRequest, ShowChunk, ShowRef
    from tvreport.stages import ai_stages, query_show_data

    sid = world.start()
    world.viewing.add_plays(sid, "show#dark", title="Dark", kind="show", plays={"2024-01-01|e1"})

    def tmdb():
        world.delete(sid)  # DELETE arrives while TMDB is asked
        raise UpstreamError("timed out", service="tmdb")

    deps = query_show_data.ShowDataDeps(world.sessions, world.viewing, world.cache, world.queue["show-data"], tmdb)
    handler = batch_handler(lambda record, _: query_show_data.handle(parse_message(record, ShowChunk), deps))
    chunk = ShowChunk(session_id=sid, chunk_id=0, shows=[ShowRef(show_key="show#dark", title="Dark")])
    assert handler(sqs_event([chunk.model_dump_json()]), FakeContext()) == {"batchItemFailures": []}
    only_a_tombstone(world, sid)

    other = world.start()

    def ai():
        world.delete(other)  # DELETE arrives while the AI picks
        return TvPersonalityAI(api_key=None)

    ai_deps = ai_stages.AiDeps(world.sessions, world.viewing, world.cache, ai)
    ai_handler = batch_handler(lambda record, _: ai_stages.handle(parse_message(record, AiStageRequest), ai_deps))
    request = AiStageRequest(session_id=other, stage=Stage.STAR_SIGN.value)
    assert ai_handler(sqs_event([request.model_dump_json()]), FakeContext()) == {"batchItemFailures": []}
    only_a_tombstone(world, other)

    assert world.sweep() == 2
    assert world.items(sid) == world.items(other) == {"sessions": [], "viewing": []}
