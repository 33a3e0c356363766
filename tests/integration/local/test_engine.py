"""The event-source engine against the small app deployed in moto."""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from local.engine import EngineOptions, EventSourceEngine, mapping_label
from local.workers import FunctionWorker, WorkerSpec

from .conftest import SmallDeployment
from .small_app import MAX_RECEIVE_COUNT, SQS_TIMEOUT_S


@contextmanager
def running_engine(deployment: SmallDeployment, **options: object) -> Iterator[EventSourceEngine]:
    engine = EventSourceEngine(
        aws=deployment.aws,
        stack=deployment.stack,
        base_env=deployment.aws.worker_env(),
        log_dir=deployment.run_dir / "logs",
        options=EngineOptions(**{"schedule_interval_s": None, **options}),
    )
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


def _queue(deployment: SmallDeployment, fragment: str) -> str:
    """The queue whose logical id is the construct id plus CDK's 8-character hash."""
    (url,) = [u for lid, u in deployment.stack.queues.items() if re.fullmatch(f"{fragment}[0-9A-F]{{8}}", lid)]
    return url


def _count(deployment: SmallDeployment, url: str) -> int:
    attributes = deployment.aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _drain(deployment: SmallDeployment, url: str) -> None:
    """Empty a queue for the next test (PurgeQueue is limited to once a minute)."""
    sqs = deployment.aws.client("sqs")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _sqs_mapping(deployment: SmallDeployment):
    return next(m for m in deployment.stack.mappings if m.source_kind == "sqs")


def test_sqs_partial_batch_failure_redrives_only_the_failed_message_to_the_dlq(deployment: SmallDeployment) -> None:
    # Given a batch where one message reports itself failed
    sqs = deployment.aws.client("sqs")
    work, dlq = _queue(deployment, "Work"), _queue(deployment, "WorkDlq")
    sqs.send_message_batch(
        QueueUrl=work,
        Entries=[
            {"Id": "good", "MessageBody": json.dumps({"n": 1}),
             "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "test"}}},
            {"Id": "bad", "MessageBody": json.dumps({"n": 2, "fail": True})},
        ],
    )
    # When the engine runs until the queues are idle
    with running_engine(deployment, retry_delay_s=1) as engine:
        assert engine.wait_idle(timeout_s=40)
        label = mapping_label(_sqs_mapping(deployment))
        counters = engine.stats()[label]

    # Then the good message was deleted once and the bad one reached the DLQ
    # after maxReceiveCount deliveries
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert [json.loads(m["Body"]) for m in dead] == [{"n": 2, "fail": True}]
    assert _count(deployment, work) == 0
    deliveries = [
        json.loads(r["body"]) for call in deployment.recorded("queue") for r in call["event"]["Records"]
    ]
    assert deliveries.count({"n": 1}) == 1
    assert deliveries.count({"n": 2, "fail": True}) == MAX_RECEIVE_COUNT
    assert counters["messages_deleted"] == 1
    assert counters["partial_failures"] == MAX_RECEIVE_COUNT
    assert counters["failures"] == 0

    # And the event has the real SQS record shape
    first = deployment.recorded("queue")[0]
    record = next(r for r in first["event"]["Records"] if json.loads(r["body"]) == {"n": 1})
    assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                           "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"}
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == _sqs_mapping(deployment).source_arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert 0 < first["remaining_ms"] <= SQS_TIMEOUT_S * 1000
    _drain(deployment, dlq)


def test_a_raising_handler_leaves_the_whole_batch_for_redelivery(deployment: SmallDeployment) -> None:
    sqs = deployment.aws.client("sqs")
    work, dlq = _queue(deployment, "Work"), _queue(deployment, "WorkDlq")
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"raise": True}))

    with running_engine(deployment) as engine:
        assert engine.wait_idle(timeout_s=40)
        counters = engine.stats()[mapping_label(_sqs_mapping(deployment))]

    assert counters["failures"] == MAX_RECEIVE_COUNT
    assert counters["messages_deleted"] == 0
    assert _count(deployment, dlq) == 1
    _drain(deployment, dlq)


def test_crash_matching_drives_a_message_to_the_dlq_without_the_handler_seeing_it(deployment: SmallDeployment) -> None:
    sqs = deployment.aws.client("sqs")
    work, dlq = _queue(deployment, "Work"), _queue(deployment, "WorkDlq")
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"chunk": 7}))

    crash_chunk_7 = lambda record: json.loads(record.get("body", "{}")).get("chunk") == 7  # noqa: E731
    with running_engine(deployment, crash_matching=crash_chunk_7) as engine:
        assert engine.wait_idle(timeout_s=40)
        # sent apart: a crash fails the whole batch it is in, as a real one would
        sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"chunk": 8}))
        assert engine.wait_idle(timeout_s=40)
        counters = engine.stats()[mapping_label(_sqs_mapping(deployment))]

    seen = [json.loads(r["body"]) for call in deployment.recorded("queue") for r in call["event"]["Records"]]
    assert {"chunk": 7} not in seen
    assert {"chunk": 8} in seen
    assert counters["injected_crashes"] >= MAX_RECEIVE_COUNT
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert [json.loads(m["Body"]) for m in dead] == [{"chunk": 7}]
    _drain(deployment, dlq)


def test_duplicate_deliveries_invoke_every_batch_twice(deployment: SmallDeployment) -> None:
    sqs = deployment.aws.client("sqs")
    sqs.send_message(QueueUrl=_queue(deployment, "Work"), MessageBody=json.dumps({"n": 42}))

    with running_engine(deployment, duplicate_deliveries=True) as engine:
        assert engine.wait_idle(timeout_s=30)
        counters = engine.stats()[mapping_label(_sqs_mapping(deployment))]

    calls = deployment.recorded("queue")
    assert len(calls) == 2
    assert calls[0]["event"] == calls[1]["event"]  # the same event, receipt handle included
    assert calls[0]["request_id"] != calls[1]["request_id"]
    assert counters["invocations"] == 2 and counters["duplicate_invocations"] == 1
    assert counters["messages_deleted"] == 1


def test_stream_mapping_delivers_insert_and_modify_with_the_real_event_shape(deployment: SmallDeployment) -> None:
    table = next(iter(deployment.stack.tables.values()))
    dynamodb = deployment.aws.client("dynamodb")
    mapping = next(m for m in deployment.stack.mappings if m.source_kind == "dynamodb")

    with running_engine(deployment) as engine:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
        dynamodb.update_item(
            TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "2"}},
        )

        def records_of_a() -> list[dict]:  # other tests' writes to the shared table may come first
            return [r for event in deployment.recorded("stream") for r in event["Records"]
                    if r["dynamodb"]["Keys"]["pk"]["S"] == "a"]

        assert _wait_for(lambda: len(records_of_a()) >= 2)
        label = mapping_label(mapping)
        counters = engine.stats()[label]

    records = records_of_a()
    assert [r["eventName"] for r in records][:2] == ["INSERT", "MODIFY"]
    insert, modify = records[0], records[1]
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"] == mapping.source_arn
    assert insert["awsRegion"] == deployment.aws.region
    assert {"eventID", "eventVersion"} <= set(insert)
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"}
    assert modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert modify["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], int)
    assert int(insert["dynamodb"]["SequenceNumber"]) < int(modify["dynamodb"]["SequenceNumber"])
    assert insert["dynamodb"]["SizeBytes"] > 0
    assert counters["failures"] == 0 and counters["records"] >= 2


def test_a_poison_stream_record_is_retried_then_sent_to_the_on_failure_queue(deployment: SmallDeployment) -> None:
    table = next(iter(deployment.stack.tables.values()))
    dynamodb = deployment.aws.client("dynamodb")
    sqs = deployment.aws.client("sqs")
    failures_queue = _queue(deployment, "StreamFailures")

    with running_engine(deployment, retry_delay_s=0.2) as engine:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "poison"}, "poison": {"BOOL": True}})
        assert _wait_for(lambda: _count(deployment, failures_queue) == 1)
        counters = engine.stats()[mapping_label(next(m for m in deployment.stack.mappings if m.source_kind == "dynamodb"))]

    (message,) = sqs.receive_message(QueueUrl=failures_queue, VisibilityTimeout=0)["Messages"]
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert counters["on_failure_records"] == 1
    assert counters["failures"] >= 2  # the first attempt and its one retry
    _drain(deployment, failures_queue)


def test_schedule_invokes_its_target_with_a_scheduled_event(deployment: SmallDeployment) -> None:
    with running_engine(deployment, schedule_interval_s=0.5):
        assert _wait_for(lambda: len(deployment.recorded("schedule")) >= 1)
    event = deployment.recorded("schedule")[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == [deployment.stack.schedules[0].rule_arn]


def test_a_worker_that_outlives_its_timeout_is_killed_and_restarted(deployment: SmallDeployment) -> None:
    function = deployment.stack.function_at("QueueFn")
    worker = FunctionWorker(WorkerSpec.for_function(function, deployment.aws.worker_env(), deployment.run_dir / "logs"))
    slow = {"Records": [{"messageId": "m1", "body": json.dumps({"sleep": SQS_TIMEOUT_S + 5})}]}
    quick = {"Records": [{"messageId": "m2", "body": "{}"}]}
    try:
        started = time.monotonic()
        timed_out = worker.invoke(slow)
        elapsed = time.monotonic() - started
        after = worker.invoke(quick)
    finally:
        worker.close()

    assert timed_out.timed_out and not timed_out.ok
    assert timed_out.error_type == "Sandbox.Timedout"
    assert SQS_TIMEOUT_S <= elapsed < SQS_TIMEOUT_S + 4
    assert after.ok and after.payload == {"batchItemFailures": []}
    assert worker.cold_starts == 2 and worker.timeouts == 1
    log = (deployment.run_dir / "logs" / f"{function.logical_id}.log")
    assert log.is_file()


def _wait_for(condition, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_stream_records_after_a_cancelled_transaction_are_still_delivered(deployment: SmallDeployment) -> None:
    # moto restores a table from a copy when a transaction is cancelled, stream
    # shard included; pollers holding an iterator on the old shard went blind.
    table = next(iter(deployment.stack.tables.values()))
    dynamodb = deployment.aws.client("dynamodb")

    def delivered_keys() -> set[str]:
        return {r["dynamodb"]["Keys"]["pk"]["S"] for e in deployment.recorded("stream") for r in e["Records"]}

    with running_engine(deployment):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "before"}})
        assert _wait_for(lambda: "before" in delivered_keys())
        try:
            dynamodb.transact_write_items(TransactItems=[{"Put": {
                "TableName": table, "Item": {"pk": {"S": "before"}}, "ConditionExpression": "attribute_not_exists(pk)",
            }}])
        except dynamodb.exceptions.TransactionCanceledException:
            pass
        else:
            raise AssertionError("the transaction should have been cancelled")
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "after"}})

        assert _wait_for(lambda: "after" in delivered_keys(), timeout_s=15)
