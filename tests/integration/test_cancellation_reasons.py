"""A cancelled transaction read by its CancellationReasons (moto plus DynamoDB's own
error shapes at the boto edge): only a failed ledger condition is a duplicate; a
failed session condition drops the work; a conflict or throttling is retried, then
fails the record, and nothing is ever acknowledged uncounted. Batch deletes re-send
UnprocessedItems, bounded."""
from __future__ import annotations

import json
from datetime import date

import boto3
import pytest
from botocore.exceptions import ClientError
from tenacity import wait_none

from tests.integration.conftest import REGION
from tests.support.aws_edge import Edge, all_unprocessed, cancelled
from tests.support.events import api_event, sqs_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.values import statistics
from tvreport import aws, env_keys
from tvreport.batch_handler import BatchFailed, batch_handler, parse_message
from tvreport.messages import RtChunk
from tvreport.repositories._dynamo import BATCH_ATTEMPTS, UnprocessedItemsLeft, batch_delete
from tvreport.repositories.sessions import SessionGone, SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import Stage, State, ledger_sk, session_pk

TRANSACT = "TransactWriteItems"
BATCH = "BatchWriteItem"


@pytest.fixture
def repo(moto_tables) -> SessionRepository:
    return SessionRepository(moto_tables["sessions"], ttl_days=1, retry_wait=wait_none())


@pytest.fixture
def edge(moto_tables) -> Edge:
    return Edge(aws.client("dynamodb"))


def crunching(repo: SessionRepository, session_id: str = "s-1") -> str:
    repo.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    repo.set_totals(session_id, total_shows=100, total_chunks=2, movies=0, activities=0, rejected=0)
    return session_id


def ledger_item(moto_tables, session_id: str, chunk_id: int = 0):
    table = boto3.resource("dynamodb", region_name=REGION).Table(moto_tables["sessions"])
    key = {"pk": session_pk(session_id), "sk": ledger_sk(Stage.QUERY_SHOW_DATA, chunk_id)}
    return table.get_item(Key=key).get("Item")


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_conflict_or_throttling_is_retried_then_counts_once(repo, edge, reason):
    sid = crunching(repo)
    edge.calls.clear()
    edge.answer(TRANSACT, cancelled("None", reason), cancelled(reason, "None"))
    assert repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=48, shows_failed=2) is True
    assert edge.calls[TRANSACT] == 3  # two cancellations, then moto applied it
    view = repo.get(sid)
    assert (view.show_data.chunks_done, view.show_data.shows_done, view.show_data.shows_failed) == (1, 48, 2)
    assert repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=48, shows_failed=2) is False  # duplicate


def test_a_cancellation_that_outlasts_the_retries_is_raised_uncounted(repo, edge, moto_tables):
    sid = crunching(repo)
    edge.calls.clear()
    edge.answer(TRANSACT, *[cancelled("TransactionConflict", "None")] * 5)
    with pytest.raises(ClientError) as raised:
        repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=48, shows_failed=2)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert edge.calls[TRANSACT] == 5  # bounded
    assert ledger_item(moto_tables, sid) is None and repo.get(sid).show_data.chunks_done == 0
    # the redelivered message then counts it
    assert repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=48, shows_failed=2) is True


@pytest.mark.parametrize("ended", ["missing", State.FAILED, State.COMPLETED])
def test_a_session_that_is_gone_or_ended_is_not_a_duplicate(repo, moto_tables, ended):
    sid = "s-1" if ended == "missing" else crunching(repo)
    if ended is State.FAILED:
        repo.fail(sid, "STALLED")
    elif ended is State.COMPLETED:
        repo.complete(sid, statistics())
    with pytest.raises(SessionGone):  # moto answers [None, ConditionalCheckFailed]
        repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=48, shows_failed=2)
    assert ledger_item(moto_tables, sid) is None
    if ended == "missing":
        assert repo.get_item(sid) is None  # nothing re-created


def test_only_the_ledger_condition_means_duplicate(repo, edge):
    sid = crunching(repo)
    edge.calls.clear()
    edge.answer(TRANSACT, cancelled("ConditionalCheckFailed", "None"))
    assert repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=1, shows_failed=0) is False
    edge.answer(TRANSACT, cancelled("None", "ConditionalCheckFailed"))
    with pytest.raises(SessionGone):
        repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, 0, shows_done=1, shows_failed=0)


def _crawl_handler(repo: SessionRepository, moto_tables):
    """The crawl stage's record handler with an empty chunk (no upstream calls)."""
    from tvreport.stages import crawl_rotten_tomatoes

    cache = ShowCacheRepository(moto_tables["show_cache"], 30)
    deps = crawl_rotten_tomatoes.CrawlDeps(repo, cache, rotten_tomatoes=lambda: None)  # type: ignore[arg-type]
    return batch_handler(lambda record, _: crawl_rotten_tomatoes.handle(parse_message(record, RtChunk), deps))


def test_the_stage_fails_the_record_on_throttling_and_drops_it_for_a_gone_session(repo, edge, moto_tables):
    sid = crunching(repo)
    handler = _crawl_handler(repo, moto_tables)
    body = RtChunk(session_id=sid, chunk_id=0, shows=[], not_on_tmdb=3).model_dump_json()
    edge.answer(TRANSACT, *[cancelled("None", "ThrottlingError")] * 5)
    with pytest.raises(BatchFailed):  # the only record failed: Lambda retries the batch
        handler(sqs_event([body]), FakeContext())
    assert repo.get(sid).rotten_tomatoes.chunks_done == 0  # not acknowledged uncounted

    assert handler(sqs_event([body]), FakeContext()) == {"batchItemFailures": []}  # the redelivery counts
    assert repo.get(sid).rotten_tomatoes.shows_failed == 3

    # the session ends (or is deleted) between the stage's read and its count: the
    # count is refused and the record acknowledged, not retried
    edge.answer(TRANSACT, cancelled("None", "ConditionalCheckFailed"))
    other = RtChunk(session_id=sid, chunk_id=1, shows=[], not_on_tmdb=1).model_dump_json()
    assert handler(sqs_event([other]), FakeContext()) == {"batchItemFailures": []}
    assert repo.get(sid).rotten_tomatoes.chunks_done == 1


def test_create_retries_a_conflict_and_reads_a_token_condition_as_a_replay(repo, edge):
    edge.answer(TRANSACT, cancelled("TransactionConflict", "None"))
    assert repo.create("a", source=None, state=State.AWAITING_CONNECTION, threshold_percent=97,
                       client_token="tok-1") == ("a", True)
    assert edge.calls[TRANSACT] == 2
    # a replay: moto answers [None, ConditionalCheckFailed] on the token put
    assert repo.create("b", source=None, state=State.AWAITING_CONNECTION, threshold_percent=97,
                       client_token="tok-1") == ("a", False)
    edge.answer(TRANSACT, *[cancelled("None", "ThrottlingError")] * 5)
    with pytest.raises(ClientError):
        repo.create("c", source=None, state=State.AWAITING_CONNECTION, threshold_percent=97, client_token="tok-2")
    assert repo.get("c") is None


def test_batch_deletes_resend_unprocessed_items_with_backoff_and_give_up_bounded(moto_tables):
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    for n in range(30):  # two batches: 25 + 5
        viewing.add_plays("s-1", f"show#{n:02d}", title=f"Show {n}", kind="show", plays={"2024-01-01|e1"})
    edge = Edge(aws.table(moto_tables["viewing"]).meta.client)
    edge.answer(BATCH, all_unprocessed, all_unprocessed)  # the first batch is refused twice
    assert viewing.delete_session("s-1") == 30
    assert edge.calls[BATCH] == 4 and viewing.records("s-1", as_of=date.today()) == []

    viewing.add_plays("s-2", "show#a", title="A", kind="show", plays={"2024-01-01|e1"})
    edge.answer(BATCH, *[all_unprocessed] * BATCH_ATTEMPTS)
    with pytest.raises(UnprocessedItemsLeft):
        batch_delete(aws.table(moto_tables["viewing"]), [{"session_id": "s-2", "show_key": "show#a"}],
                     wait=wait_none())
    assert len(viewing.records("s-2", as_of=date.today())) == 1  # raised, never reported as deleted


def test_a_create_cancelled_past_its_retries_answers_503(moto_tables, function_env):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="uploads")
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="activities")["QueueUrl"]
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queue_url, env_keys.UPLOADS_BUCKET: "uploads"})
    api = load_handler("api")
    api.service.sessions = SessionRepository(moto_tables["sessions"], ttl_days=1, retry_wait=wait_none())
    Edge(aws.client("dynamodb")).answer(TRANSACT, *[cancelled("TransactionConflict", "None")] * 5)
    response = api.handler(api_event("POST", "/sessions", {"dataKey": "k", "clientToken": "tok-503-000000001"}), FakeContext())
    assert response["statusCode"] == 503 and "repeat the request" in json.loads(response["body"])["message"]
    response = api.handler(api_event("POST", "/sessions", {"dataKey": "k", "clientToken": "tok-503-000000001"}), FakeContext())
    assert response["statusCode"] == 201  # the repeat creates it
