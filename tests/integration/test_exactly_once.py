"""Exactly-once counting and single emission, on moto with the template's tables."""
from __future__ import annotations

import json

import boto3

from tests.integration.conftest import REGION
from tests.support.handlers import FakeContext, load_handler
from tests.support.queues import follow_up_environment
from tvreport import env_keys
from tvreport.repositories._dynamo import utc_now
from tvreport.repositories.sessions import SessionRepository
from tvreport.schema import FOLLOW_UPS
from tvreport.session_model import Stage, State


def new_session(repo: SessionRepository, total_shows=100, total_chunks=2) -> str:
    session_id, _ = repo.create("s-1", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    repo.set_totals(session_id, total_shows=total_shows, total_chunks=total_chunks, movies=0, activities=0,
                    rejected=0)
    return session_id


def test_a_chunk_counted_twice_counts_once(moto_tables):
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    sid = new_session(repo)
    assert repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=48, shows_failed=2)
    assert not repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=48, shows_failed=2)
    view = repo.get(sid)
    assert (view.show_data.shows_done, view.show_data.shows_failed, view.show_data.chunks_done) == (48, 2, 1)
    # a dead letter for a chunk already counted changes nothing either
    assert not repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=0, shows_failed=50, dead_lettered=True)
    assert repo.get(sid).show_data.chunks_failed == 0


def test_a_claim_is_won_once(moto_tables):
    # Sequential on purpose: moto does not serialize conditional writes across threads
    # (two racing claims can both win there), so atomicity under true concurrency is
    # DynamoDB's guarantee and is not something a moto test can show.
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    sid = new_session(repo)
    claims = [repo.claim_trigger(sid, Stage.STAR_SIGN) for _ in range(3)]
    assert claims == [True, False, False]
    # a failed send keeps the claim (the watchdog re-sends it); no one claims again
    assert repo.record_send_failure(sid, Stage.STAR_SIGN, utc_now())
    assert not repo.claim_trigger(sid, Stage.STAR_SIGN)
    repo.mark_trigger_sent(sid, Stage.STAR_SIGN)
    assert not repo.record_send_failure(sid, Stage.STAR_SIGN, utc_now())  # never after the send
    assert not repo.claim_trigger(sid, Stage.STAR_SIGN)


def test_idempotent_create_with_a_client_token(moto_tables):
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    first = repo.create("a", source=None, state=State.AWAITING_CONNECTION, threshold_percent=97, client_token="t1")
    again = repo.create("b", source=None, state=State.AWAITING_CONNECTION, threshold_percent=97, client_token="t1")
    assert first == ("a", True) and again == ("a", False)
    assert repo.get("b") is None


def stream_event(table_name: str) -> dict:
    """Every record of the sessions table's stream, as the Lambda event carries them."""
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table_name)["Table"]
    streams = boto3.client("dynamodbstreams", region_name=REGION,
                           endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com")
    shard = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=table["LatestStreamArn"], ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    for record in records:
        record["eventSourceARN"] = table["LatestStreamArn"]
        record["dynamodb"]["ApproximateCreationDateTime"] = record["dynamodb"]["ApproximateCreationDateTime"].timestamp()
    return {"Records": records}


def test_tracker_emits_each_stage_once_under_duplicate_records(moto_tables, function_env):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("tvbff", "starsign", "showdata")}
    function_env({**follow_up_environment({Stage.TV_BFF: queues["tvbff"], Stage.STAR_SIGN: queues["starsign"]}),
                  env_keys.QUERY_SHOW_DATA_QUEUE_URL: queues["showdata"]})
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    sid = new_session(repo)
    for chunk in (0, 1):
        repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, chunk, shows_done=50, shows_failed=0)
        repo.count_chunk(sid, Stage.CRAWL_ROTTEN_TOMATOES, chunk, shows_done=49, shows_failed=1)

    tracker = load_handler("progress_tracker")
    event = stream_event(moto_tables["sessions"])
    for _ in range(2):  # every record delivered twice
        response = tracker.handler(event, FakeContext())
        assert response == {"batchItemFailures": []}

    def drain(url):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    assert drain(queues["tvbff"]) == [{"session_id": sid, "stage": "tv_bff"}]
    assert drain(queues["starsign"]) == [{"session_id": sid, "stage": "star_sign"}]
    view = repo.get(sid)
    assert view.requested == view.sent == {spec.stage for spec in FOLLOW_UPS}


def test_star_sign_starts_at_the_threshold_before_the_last_chunk(moto_tables, function_env):
    # 100 shows in chunks of 48, 49 and 3: with the small chunk still out, 97 % of the
    # shows are done in both stages, so starSignPicker starts; tvBFF waits for show
    # data to be complete, and the session for every chunk.
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("tvbff", "starsign", "showdata")}
    function_env({**follow_up_environment({Stage.TV_BFF: queues["tvbff"], Stage.STAR_SIGN: queues["starsign"]}),
                  env_keys.QUERY_SHOW_DATA_QUEUE_URL: queues["showdata"]})
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    sid = new_session(repo, total_shows=100, total_chunks=3)
    for stage in (Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES):
        repo.count_chunk(sid, stage, 0, shows_done=48, shows_failed=0)
        repo.count_chunk(sid, stage, 1, shows_done=49, shows_failed=0)

    load_handler("progress_tracker").handler(stream_event(moto_tables["sessions"]), FakeContext())

    got = {name: sqs.receive_message(QueueUrl=url).get("Messages", []) for name, url in queues.items()}
    assert (len(got["tvbff"]), len(got["starsign"])) == (0, 1)
    assert repo.get(sid).state is State.CRUNCHING_DATA
