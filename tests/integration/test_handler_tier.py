"""The handler tier: each queue worker's real handler (lambdas/<fn>/handler.py) fed a
real SQS event shape, over moto's tables. One batch holds a record for a session that
is gone (acknowledged without work) and one unreadable record (reported alone in
batchItemFailures, so SQS retries only it); delivered again, the batch gives the same
answer and changes nothing."""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.support.events import sqs_event, stream_event
from tests.support.handlers import FakeContext, load_handler
from tvreport import env_keys

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
    function_env({env_keys.TV_BFF_QUEUE_URL: QUEUE.format("b"), env_keys.STAR_SIGN_QUEUE_URL: QUEUE.format("z"),
                  env_keys.QUERY_SHOW_DATA_QUEUE_URL: QUEUE.format("s")})
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
