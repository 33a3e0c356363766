"""The handler tier: each queue worker's real handler (lambdas/<fn>/handler.py) fed a
real SQS event shape, over moto's tables. One batch holds a record for a session that
is gone (acknowledged without work) and one unreadable record (reported alone in
batchItemFailures, so SQS retries only it); delivered again, the batch gives the same
answer and changes nothing. A second set gives each worker a record that does its
work (a live session, the upstream answers already cached) beside the bad one.
The stage functions' own cases run over in-memory fakes in tests/unit/stages."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.infrastructure.template_queries import TemplateQueries
from tests.support.events import sqs_event, stream_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.iam_calls import Needed, recording, table_ids, ungranted
from tests.support.queues import drain, follow_up_environment
from tvreport import env_keys
from tvreport.messages import ActivitiesRequest, AiStageRequest, RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.records import CachedShow, CastMember, RtScores
from tvreport.repositories._dynamo import from_dynamo
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import Stage, State, result_attribute
from tvreport.stages.purge import upload_key

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/{}"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:queryActivities-dlq"
GONE = "s-gone-0000000001"

# directory -> (its extra environment, a well-formed message for a gone session)
WORKERS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "query_activities": (
        {env_keys.QUERY_ACTIVITIES_QUEUE_URL: QUEUE.format("a"), env_keys.QUERY_SHOW_DATA_QUEUE_URL: QUEUE.format("s"),
         env_keys.UPLOADS_BUCKET: "uploads", env_keys.GANDALF_URL: "http://127.0.0.1:9/graphql"},
        {"session_id": GONE, "source": "gandalf", "data_key": "k" * 16}),
    "query_show_data": (
        {env_keys.CRAWL_RT_QUEUE_URL: QUEUE.format("r"), env_keys.QUERY_SHOW_DATA_QUEUE_URL: QUEUE.format("s"),
         env_keys.TMDB_URL: "http://127.0.0.1:9"},
        {"session_id": GONE, "chunk_id": 0, "shows": [{"show_key": "dark", "title": "Dark"}]}),
    "crawl_rotten_tomatoes": (
        {env_keys.CRAWL_RT_QUEUE_URL: QUEUE.format("r"), env_keys.ROTTEN_TOMATOES_URL: "http://127.0.0.1:9"},
        {"session_id": GONE, "chunk_id": 0, "shows": [{"show_key": "dark", "title": "Dark", "tmdb_id": 70523}]}),
    "tv_bff": ({env_keys.OPENAI_MODEL: "gpt-test"}, {"session_id": GONE, "stage": "tv_bff"}),
    "star_sign_picker": ({env_keys.OPENAI_MODEL: "gpt-test"}, {"session_id": GONE, "stage": "star_sign"}),
    "dead_letters": (
        {env_keys.DEAD_LETTER_SOURCES: json.dumps({DLQ_ARN: "query_activities"})},
        {"session_id": GONE, "source": "gandalf", "data_key": "k" * 16}),
}


def _ids(messages: list[Any]) -> list[str]:
    """Message ids of a processor's record list (success holds raw records, failures data classes)."""
    return [m["messageId"] if isinstance(m, dict) else m.message_id for m in messages]


def _items(table: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=table)["Items"]


@pytest.mark.parametrize("directory", sorted(WORKERS))
def test_one_bad_record_fails_alone_and_a_redelivery_changes_nothing(
    directory: str, function_env, moto_tables: dict[str, str]
) -> None:
    extra, gone_message = WORKERS[directory]
    function_env(extra)
    module = load_handler(directory)
    event = sqs_event([json.dumps(gone_message), "{not json"], queue_arn=DLQ_ARN)
    good, bad = (record["messageId"] for record in event["Records"])

    response = module.handler(event, FakeContext())

    if directory == "dead_letters":  # an unreadable dead letter is logged and dropped: nothing to count
        assert response == {"batchItemFailures": []}
    else:
        assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
        assert _ids(module.handler.processor.fail_messages) == [bad]
    assert good in _ids(module.handler.processor.success_messages)
    before = {role: _items(table) for role, table in moto_tables.items()}

    assert module.handler(event, FakeContext()) == response  # the redelivery
    assert {role: _items(table) for role, table in moto_tables.items()} == before


def test_a_dead_letter_from_an_unmapped_queue_fails_its_record(function_env) -> None:
    function_env({env_keys.DEAD_LETTER_SOURCES: json.dumps({DLQ_ARN: "query_activities"})})
    module = load_handler("dead_letters")
    event = sqs_event([json.dumps({"session_id": GONE, "source": "gandalf"})] * 2, queue_arn=DLQ_ARN)
    event["Records"][0]["eventSourceARN"] = DLQ_ARN + "-other"  # a queue the stack never mapped
    unmapped = event["Records"][0]["messageId"]
    assert module.handler(event, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": unmapped}]}
    assert _ids(module.handler.processor.fail_messages) == [unmapped]


def test_the_stream_handler_fails_only_the_corrupt_session_image(function_env, moto_tables: dict[str, str]) -> None:
    function_env({**follow_up_environment(), env_keys.QUERY_SHOW_DATA_QUEUE_URL: QUEUE.format("s")})
    module = load_handler("progress_tracker")
    ledger = {"pk": {"S": f"SESSION#{GONE}"}, "sk": {"S": "LEDGER#query_show_data#0"}}  # not the session item
    gone = {"pk": {"S": f"SESSION#{GONE}"}, "sk": {"S": "META"}}  # no state: a tombstone, acknowledged
    corrupt = {"pk": {"S": f"SESSION#{GONE}"}, "sk": {"S": "META"}, "state": {"S": "CRUNCHING_DATA"}}  # no session_id
    event = stream_event([ledger, gone, corrupt])
    bad = event["Records"][2]["dynamodb"]["SequenceNumber"]

    response = module.handler(event, FakeContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert len(module.handler.processor.fail_messages) == 1
    assert len(module.handler.processor.success_messages) == 2
    before = {role: _items(table) for role, table in moto_tables.items()}
    assert module.handler(event, FakeContext()) == response  # the redelivery
    assert {role: _items(table) for role, table in moto_tables.items()} == before


# ---- a batch that does work: each queue worker with a well-formed record for a
# crunching session beside one bad record (the bad one alone is reported, and its id
# is the processor's one failed message); delivered again, the batch gives the same
# answer, the tables are the same and nothing more is sent.

SESSION = "s-live-0000000001"
EXPORT = b'Title,Date\n"Dark: Season 1: Secrets","1/2/26"\n"Lupin: Part 1: Chapter 1","1/1/26"\n"Heat","6/1/24"\n'
# Stamps a redelivered write sets again (every value it counts stays the same).
RESTAMPED = {"updated_at", "progress_at", "activities_done_at", "expires_at"}
DARK = CachedShow(tmdb_id=70523, name="Dark", first_air_year=2017, genres=["Drama", "Mystery"], imdb_id="tt5753856",
                  cast=[CastMember("Louis Hofmann", "Jonas Kahnwald", 26), CastMember("Lisa Vicari", "Martha", 20)])


@dataclass
class Live:
    sessions: SessionRepository
    viewing: ViewingRepository
    cache: ShowCacheRepository
    queues: dict[str, str]
    tables: dict[str, str]
    template: TemplateQueries

    def assert_granted(self, directory: str, calls: set[Needed]) -> None:
        """Every DynamoDB call the handler made is allowed to its role (moto allows all)."""
        assert not ungranted(calls, self.template, directory, table_ids(self.template, self.tables)), directory

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        return {role: sorted(({k: v for k, v in from_dynamo(i).items() if k not in RESTAMPED}
                              for i in resource.Table(table).scan(ConsistentRead=True)["Items"]), key=repr)
                for role, table in self.tables.items()}

    def item(self) -> dict[str, Any]:
        return from_dynamo(self.sessions.get_item(SESSION))


@pytest.fixture
def live(moto_tables: dict[str, str], function_env, monkeypatch: pytest.MonkeyPatch, cdk_template: dict) -> Live:
    """A crunching session split into one chunk of Dark, its record matched, Dark cached
    and scored (so no stage calls an upstream), queues and the uploads bucket in moto."""
    monkeypatch.delenv(env_keys.OPENAI_API_KEY, raising=False)  # the AI stages pick by the rules
    sqs = boto3.client("sqs", region_name="us-east-1")
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("activities", "showdata", "crawl")}
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="uploads")
    world = Live(SessionRepository(moto_tables["sessions"], 1), ViewingRepository(moto_tables["viewing"], 1),
                 ShowCacheRepository(moto_tables["show_cache"], 30), queues, moto_tables, TemplateQueries(cdk_template))
    world.sessions.create(SESSION, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    world.cache.put_show(DARK)
    world.cache.put_alias("dark", DARK.tmdb_id)
    world.cache.update_rotten_tomatoes(DARK.tmdb_id, RtScores(critics_score=95, audience_score=92))
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queues["activities"],
                  env_keys.QUERY_SHOW_DATA_QUEUE_URL: queues["showdata"], env_keys.CRAWL_RT_QUEUE_URL: queues["crawl"],
                  env_keys.UPLOADS_BUCKET: "uploads", env_keys.GANDALF_URL: "http://127.0.0.1:9/graphql",
                  env_keys.TMDB_URL: "http://127.0.0.1:9", env_keys.ROTTEN_TOMATOES_URL: "http://127.0.0.1:9",
                  env_keys.OPENAI_MODEL: "gpt-test",
                  env_keys.DEAD_LETTER_SOURCES: json.dumps({DLQ_ARN: Stage.QUERY_SHOW_DATA.value})})
    return world


def split(world: Live) -> None:
    """The history as queryActivities leaves it: totals, Dark's record matched."""
    world.viewing.put_record(SESSION, "dark", title="Dark", kind="show", plays={"2026-01-01|1|1", "2026-01-02|1|2"})
    world.viewing.set_tmdb_id(SESSION, "dark", DARK.tmdb_id)
    world.sessions.set_totals(SESSION, total_shows=1, total_chunks=1, movies=0, activities=2, rejected=0)


def deliver_twice(world: Live, directory: str, good_body: str, bad_event: Callable[[dict], str] | None = None
                  ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict]]]:
    """The batch [good, bad] delivered twice; returns the tables and what was sent after
    the first delivery (the checks common to every worker are made here)."""
    module = load_handler(directory)
    event = sqs_event([good_body, "{not json"], queue_arn=DLQ_ARN)
    good, bad = (record["messageId"] for record in event["Records"])
    if bad_event:  # a worker for which "{not json" is not a failure says what is
        bad = bad_event(event)
    with recording() as calls:
        response = module.handler(event, FakeContext())
    world.assert_granted(directory, calls)
    assert calls, "the worker made no DynamoDB call: nothing was checked"
    assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert _ids(module.handler.processor.fail_messages) == [bad]
    assert good in _ids(module.handler.processor.success_messages)
    after, sent = world.snapshot(), {name: drain(url) for name, url in world.queues.items()}

    with recording() as calls:
        assert module.handler(event, FakeContext()) == response  # the redelivery
    world.assert_granted(directory, calls)
    assert _ids(module.handler.processor.fail_messages) == [bad]
    assert world.snapshot() == after
    resent = {name: drain(url) for name, url in world.queues.items()}
    # queryShowData forwards before it counts, so a redelivery forwards the same chunk again
    # (crawlRottenTomatoes' ledger absorbs it); no other worker sends anything twice.
    assert resent == ({**{n: [] for n in sent}, "crawl": sent["crawl"]} if directory == "query_show_data"
                      else {n: [] for n in sent})
    return after, sent


def test_query_activities_splits_an_uploaded_export_once(live: Live) -> None:
    key = upload_key(SESSION)
    boto3.client("s3", region_name="us-east-1").put_object(Bucket="uploads", Key=key, Body=EXPORT)
    body = ActivitiesRequest(session_id=SESSION, source="netflix_csv", upload_key=key).serialize()

    tables, sent = deliver_twice(live, "query_activities", body)

    item = live.item()
    assert (item["total_shows"], item["total_chunks"], item["movies"], item["waves_sent"]) == (2, 1, 1, 1)
    assert sorted(r["show_key"] for r in tables["viewing"]) == ["dark", "lupin", "movie:heat"]
    assert [[s["show_key"] for s in c["shows"]] for c in sent["showdata"]] == [["dark", "lupin"]]


def test_query_show_data_counts_its_chunk_once_from_the_cache(live: Live) -> None:
    split(live)
    body = ShowChunk(session_id=SESSION, chunk_id=0, shows=[ShowRef(show_key="dark", title="Dark")]).model_dump_json()

    _, sent = deliver_twice(live, "query_show_data", body)

    item = live.item()
    assert (item["sd_chunks_done"], item["sd_shows_done"], item["sd_shows_failed"]) == (1, 1, 0)
    assert [(c["chunk_id"], [s["tmdb_id"] for s in c["shows"]]) for c in sent["crawl"]] == [(0, [DARK.tmdb_id])]


def test_crawl_rotten_tomatoes_counts_a_cached_score_once(live: Live) -> None:
    split(live)
    body = RtChunk(session_id=SESSION, chunk_id=0, not_on_tmdb=1,
                   shows=[RtShowRef(show_key="dark", title="Dark", tmdb_id=DARK.tmdb_id)]).model_dump_json()

    deliver_twice(live, "crawl_rotten_tomatoes", body)

    item = live.item()
    assert (item["rt_chunks_done"], item["rt_shows_done"], item["rt_shows_failed"]) == (1, 1, 1)


@pytest.mark.parametrize(("directory", "stage"), [("tv_bff", Stage.TV_BFF), ("star_sign_picker", Stage.STAR_SIGN)])
def test_an_ai_stage_stores_its_pick_once(live: Live, directory: str, stage: Stage) -> None:
    split(live)
    body = AiStageRequest(session_id=SESSION, stage=stage.value).model_dump_json()

    deliver_twice(live, directory, body)

    result = live.item()[result_attribute(stage)]
    assert result["available"] is True and result["source"] == "rules"
    if stage is Stage.TV_BFF:
        assert (result["show"], result["character"]) == ("Dark", "Jonas Kahnwald")
    assert stage in live.sessions.get(SESSION).done


def test_dead_letters_counts_a_dead_chunk_failed_once(live: Live) -> None:
    split(live)
    body = ShowChunk(session_id=SESSION, chunk_id=0, shows=[ShowRef(show_key="dark", title="Dark")]).model_dump_json()

    def from_an_unmapped_queue(event: dict) -> str:
        # An unreadable dead letter is dropped (nothing to count); a record from a queue
        # the stack never mapped is the one this worker fails.
        event["Records"][1]["eventSourceARN"] = DLQ_ARN + "-other"
        return str(event["Records"][1]["messageId"])

    deliver_twice(live, "dead_letters", body, bad_event=from_an_unmapped_queue)

    item = live.item()
    assert (item["sd_chunks_failed"], item["sd_shows_failed"], item["rt_chunks_failed"]) == (1, 1, 1)
