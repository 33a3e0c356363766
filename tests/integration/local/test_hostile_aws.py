"""The hostile local AWS: linearizable DynamoDB, injected API faults in
botocore's documented shapes (for the functions' calls only), racing duplicate
deliveries and lost responses, against the small app deployed in moto."""
from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.aws_faults import HostileAws, parse_fault_rates, uniform_faults
from local.engine import mapping_label

from .conftest import SmallDeployment
from .small_app import MAX_RECEIVE_COUNT
from .test_engine import _count, _drain, _queue, _sqs_mapping, _wait_for, running_engine

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=16)


@pytest.fixture
def hostile(deployment: SmallDeployment) -> Iterator[HostileAws]:
    """The fault layer of the shared moto server, back to no faults afterwards."""
    yield deployment.aws.hostile
    deployment.aws.hostile.configure(None)


def _table(deployment: SmallDeployment) -> str:
    return next(iter(deployment.stack.tables.values()))


def _error(call) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


# ---------------------------------------------------------------- linearizable writes


def test_racing_conditional_puts_have_exactly_one_winner_every_time(deployment: SmallDeployment) -> None:
    # Given 8 threads that put the same new key at once, 40 times over
    dynamodb = deployment.aws.function_client("dynamodb", NO_RETRIES)
    table, racers, rounds = _table(deployment), 8, 40

    def claim(key: str, racer: int, start: threading.Barrier) -> bool:
        start.wait()
        try:
            dynamodb.put_item(
                TableName=table, Item={"pk": {"S": key}, "winner": {"N": str(racer)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False

    with ThreadPoolExecutor(max_workers=racers) as pool:
        for round_ in range(rounds):
            key, start = f"race-{uuid.uuid4().hex}", threading.Barrier(racers)
            outcomes = list(pool.map(lambda racer: claim(key, racer, start), range(racers)))
            # Then exactly one put wins, and the stored item is the winner's
            assert outcomes.count(True) == 1, f"round {round_}: {outcomes}"
            stored = dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
            assert int(stored["winner"]["N"]) == outcomes.index(True)


def test_a_cancelled_transaction_never_undoes_a_concurrent_write(deployment: SmallDeployment) -> None:
    # moto restores whole tables from a copy when a transaction cancels; without
    # one dispatch at a time, puts that landed meanwhile vanish.
    dynamodb = deployment.aws.function_client("dynamodb", NO_RETRIES)
    table = _table(deployment)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "always-there"}})
    prefix, writes = f"kept-{uuid.uuid4().hex}-", 150
    stop = threading.Event()

    def cancel_forever() -> int:
        cancelled = 0
        while not stop.is_set():
            try:
                dynamodb.transact_write_items(TransactItems=[{"Put": {
                    "TableName": table, "Item": {"pk": {"S": "always-there"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }}])
            except dynamodb.exceptions.TransactionCanceledException:
                cancelled += 1
        return cancelled

    with ThreadPoolExecutor(max_workers=3) as pool:
        cancellers = [pool.submit(cancel_forever) for _ in range(2)]
        for n in range(writes):
            dynamodb.put_item(TableName=table, Item={"pk": {"S": f"{prefix}{n}"}})
        stop.set()
        cancelled = sum(future.result() for future in cancellers)

    keys = [{"pk": {"S": f"{prefix}{n}"}} for n in range(writes)]
    found = sum(
        len(dynamodb.batch_get_item(RequestItems={table: {"Keys": keys[i : i + 100]}})["Responses"][table])
        for i in range(0, writes, 100)
    )
    assert cancelled > 0
    assert found == writes


def test_a_cancelled_transaction_leaves_nothing_in_the_stream_for_an_iterator_taken_before_it(
    deployment: SmallDeployment,
) -> None:
    # moto applies a transaction's items one by one and, when one fails, puts back a
    # copy of the table; an iterator taken before then read the undone writes (a
    # counter counted twice), which completed a session before its last chunk.
    dynamodb = deployment.aws.function_client("dynamodb", NO_RETRIES)
    streams = deployment.aws.client("dynamodbstreams")
    table, key = _table(deployment), f"counter-{uuid.uuid4().hex}"
    ledger = {"pk": {"S": f"{key}-ledger"}}
    dynamodb.put_item(TableName=table, Item=ledger)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "n": {"N": "0"}})
    stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id,
                                          ShardIteratorType="LATEST")["ShardIterator"]

    def count() -> None:  # the ledger put fails, so the counter's ADD must not happen
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": ledger, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": key}}, "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ])

    for _ in range(3):
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            count()
    dynamodb.update_item(TableName=table, Key={"pk": {"S": key}}, UpdateExpression="SET note = :after",
                         ExpressionAttributeValues={":after": {"S": "after"}})

    # Then the iterator reads the one write that happened, and the counter is 0
    records = streams.get_records(ShardIterator=iterator)["Records"]
    images = [r["dynamodb"]["NewImage"] for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == key]
    assert images == [{"pk": {"S": key}, "n": {"N": "0"}, "note": {"S": "after"}}]
    stored = dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
    assert stored["n"] == {"N": "0"}


# ---------------------------------------------------------------- API faults


def test_transact_write_items_is_cancelled_with_one_reason_per_item(deployment: SmallDeployment, hostile: HostileAws) -> None:
    hostile.configure({"dynamodb:TransactWriteItems": 1.0}, seed=7)
    dynamodb = deployment.aws.function_client("dynamodb", NO_RETRIES)
    table, key = _table(deployment), f"tx-{uuid.uuid4().hex}"
    items = [{"Put": {"TableName": table, "Item": {"pk": {"S": f"{key}-{n}"}}}} for n in range(3)]

    codes: Counter[str] = Counter()
    for _ in range(20):
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as caught:
            dynamodb.transact_write_items(TransactItems=items)
        reasons = caught.value.response["CancellationReasons"]
        assert len(reasons) == len(items)
        (failing,) = [reason for reason in reasons if reason["Code"] != "None"]
        assert failing["Code"] in ("TransactionConflict", "ThrottlingError") and failing["Message"]
        assert f"[{', '.join(r['Code'] for r in reasons)}]" in caught.value.response["Error"]["Message"]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        codes[failing["Code"]] += 1

    assert set(codes) == {"TransactionConflict", "ThrottlingError"}
    # nothing of a cancelled transaction is applied
    runner = deployment.aws.client("dynamodb")
    assert "Item" not in runner.get_item(TableName=table, Key={"pk": {"S": f"{key}-0"}}, ConsistentRead=True)
    assert hostile.stats()["injected"]["dynamodb:TransactWriteItems"] == dict(codes)


def test_other_dynamodb_calls_are_throttled_or_answered_500(deployment: SmallDeployment, hostile: HostileAws) -> None:
    hostile.configure({"dynamodb:PutItem": 1.0}, seed=3)
    dynamodb = deployment.aws.function_client("dynamodb", NO_RETRIES)
    table = _table(deployment)

    seen: Counter[tuple[str, int]] = Counter()
    for n in range(30):
        error = _error(lambda: dynamodb.put_item(TableName=table, Item={"pk": {"S": f"throttled-{n}"}}))
        seen[(error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"])] += 1

    assert set(seen) == {
        ("ThrottlingException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("InternalServerError", 500),
    }
    # the modelled exception classes match, so `except client.exceptions.X` works
    hostile.configure({"dynamodb:GetItem": 1.0}, seed=3)
    error = _error(lambda: dynamodb.get_item(TableName=table, Key={"pk": {"S": "x"}}))
    assert isinstance(error, (dynamodb.exceptions.ThrottlingException,
                              dynamodb.exceptions.ProvisionedThroughputExceededException,
                              dynamodb.exceptions.InternalServerError))


def test_send_message_batch_fails_some_entries_and_only_the_others_are_queued(
    deployment: SmallDeployment, hostile: HostileAws
) -> None:
    hostile.configure({"sqs:SendMessageBatch": 1.0}, seed=11)
    sqs = deployment.aws.function_client("sqs", NO_RETRIES)
    queue = _queue(deployment, "StreamFailures")  # no reader
    _drain(deployment, queue)

    sent, partial, unavailable = 0, 0, 0
    for batch in range(12):
        entries = [{"Id": f"e{n}", "MessageBody": json.dumps({"batch": batch, "n": n})} for n in range(5)]
        try:
            answer = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        except ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
            unavailable += 1
            continue
        partial += 1
        failed_ids = {entry["Id"] for entry in answer["Failed"]}
        ok_ids = {entry["Id"] for entry in answer["Successful"]}
        assert failed_ids and not failed_ids & ok_ids and failed_ids | ok_ids == {e["Id"] for e in entries}
        for entry in answer["Failed"]:
            assert entry["SenderFault"] is False and entry["Code"] == "InternalError" and entry["Message"]
        sent += len(ok_ids)

    assert partial and unavailable
    assert _count(deployment, queue) == sent
    injected = hostile.stats()["injected"]["sqs:SendMessageBatch"]
    assert injected["PartialFailure"] == partial and injected["ServiceUnavailable"] == unavailable
    assert injected["FailedEntries"] == partial * 5 - sent
    _drain(deployment, queue)


def test_rates_are_per_operation_and_counted(deployment: SmallDeployment, hostile: HostileAws) -> None:
    hostile.configure({"dynamodb:PutItem": 0.3, "dynamodb:GetItem": 0.0}, seed=5)
    dynamodb = deployment.aws.function_client("dynamodb", NO_RETRIES)
    table, calls = _table(deployment), 200

    put_errors = get_errors = 0
    for n in range(calls):
        try:
            dynamodb.put_item(TableName=table, Item={"pk": {"S": f"rate-{n}"}})
        except ClientError:
            put_errors += 1
        try:
            dynamodb.get_item(TableName=table, Key={"pk": {"S": f"rate-{n}"}})
        except ClientError:
            get_errors += 1

    stats = hostile.stats()
    assert stats["calls"]["dynamodb:PutItem"] == calls and stats["calls"]["dynamodb:GetItem"] == calls
    assert sum(stats["injected"]["dynamodb:PutItem"].values()) == put_errors == stats["injected_total"]
    assert 30 <= put_errors <= 90  # 200 draws at 0.3: mean 60, sd 6.5
    assert get_errors == 0


def test_the_runners_own_calls_are_exempt(deployment: SmallDeployment, hostile: HostileAws) -> None:
    hostile.configure({"*": 1.0})
    runner = deployment.aws.client("dynamodb")
    table = _table(deployment)

    runner.put_item(TableName=table, Item={"pk": {"S": "runner"}})
    assert runner.get_item(TableName=table, Key={"pk": {"S": "runner"}})["Item"]
    deployment.aws.client("sqs").send_message_batch(
        QueueUrl=_queue(deployment, "StreamFailures"), Entries=[{"Id": "1", "MessageBody": "{}"}]
    )
    assert hostile.stats() == {"calls": {}, "injected": {}, "injected_total": 0}
    # while a function's client is refused
    function = deployment.aws.function_client("dynamodb", NO_RETRIES)
    _error(lambda: function.get_item(TableName=table, Key={"pk": {"S": "runner"}}))
    assert hostile.stats()["injected_total"] == 1
    _drain(deployment, _queue(deployment, "StreamFailures"))


def test_wildcards_spare_dynamodb_control_plane_calls(hostile: HostileAws) -> None:
    hostile.configure(uniform_faults(1.0))
    assert hostile.rate_for("dynamodb", "Query") == 1.0
    assert hostile.rate_for("dynamodb", "DescribeTable") == 0.0
    assert hostile.rate_for("sqs", "SendMessageBatch") == 1.0
    assert hostile.rate_for("sqs", "ReceiveMessage") == 0.0


def test_fault_rates_parse_from_the_command_line_form() -> None:
    assert parse_fault_rates("0.05") == {"dynamodb:*": 0.05, "sqs:SendMessageBatch": 0.05}
    assert parse_fault_rates("dynamodb:TransactWriteItems=0.3, sqs:SendMessageBatch=0.2") == {
        "dynamodb:TransactWriteItems": 0.3, "sqs:SendMessageBatch": 0.2,
    }
    for bad in ("1.5", "dynamodb:PutItem", "=0.1", ""):
        with pytest.raises(ValueError):
            parse_fault_rates(bad)


# ---------------------------------------------------------------- racing duplicates


def test_race_duplicates_delivers_an_sqs_batch_to_two_workers_at_once(deployment: SmallDeployment) -> None:
    sqs = deployment.aws.client("sqs")
    token = uuid.uuid4().hex
    sqs.send_message(QueueUrl=_queue(deployment, "Work"), MessageBody=json.dumps({"rendezvous": token}))

    with running_engine(deployment, race_duplicates=True) as engine:
        assert engine.wait_idle(timeout_s=40)
        counters = engine.stats()[mapping_label(_sqs_mapping(deployment))]

    copies = [event for event in deployment.recorded("race") if event["token"] == token]
    # each copy saw the other one running: concurrent, in two processes
    assert [copy["saw_other"] for copy in copies] == [True, True]
    assert len({copy["pid"] for copy in copies}) == 2
    assert counters["invocations"] == 2 and counters["race_invocations"] == 1
    assert counters["messages_deleted"] == 1 and counters["messages_retried"] == 0


def test_race_duplicates_delivers_a_stream_batch_to_two_workers_at_once(deployment: SmallDeployment) -> None:
    token = uuid.uuid4().hex
    with running_engine(deployment, race_duplicates=True):
        deployment.aws.client("dynamodb").put_item(
            TableName=_table(deployment), Item={"pk": {"S": f"race-{token}"}, "rendezvous": {"S": token}}
        )
        assert _wait_for(lambda: len([e for e in deployment.recorded("race") if e["token"] == token]) == 2)

    copies = [event for event in deployment.recorded("race") if event["token"] == token]
    assert [copy["saw_other"] for copy in copies] == [True, True]
    assert len({copy["pid"] for copy in copies}) == 2


def test_a_message_is_deleted_when_either_racing_copy_acknowledges_it(deployment: SmallDeployment) -> None:
    # One copy's response is lost, the other acknowledges: the message is gone,
    # as a delete by one receipt handle removes it on SQS.
    sqs = deployment.aws.client("sqs")
    work = _queue(deployment, "Work")
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"n": "either"}))

    # seed 1 draws 0.13 then 0.85: exactly one of the two copies loses its response
    with running_engine(deployment, race_duplicates=True, lose_responses={"QueueFn": 0.5}, seed=1) as engine:
        assert engine.wait_idle(timeout_s=40)
        counters = engine.stats()[mapping_label(_sqs_mapping(deployment))]

    assert counters["invocations"] == 2 and counters["lost_responses"] == 1
    assert counters["messages_deleted"] == 1 and counters["messages_retried"] == 0
    assert _count(deployment, work) == 0


# ---------------------------------------------------------------- lost responses


def test_a_lost_sqs_response_leaves_the_message_for_redelivery(deployment: SmallDeployment) -> None:
    sqs = deployment.aws.client("sqs")
    work, dlq = _queue(deployment, "Work"), _queue(deployment, "WorkDlq")
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"n": "lost"}))

    with running_engine(deployment, lose_responses={"queue_fn": 1.0}) as engine:  # the stage's directory name
        assert engine.wait_idle(timeout_s=40)
        counters = engine.stats()[mapping_label(_sqs_mapping(deployment))]

    # the handler ran to the end every time, yet nothing was acknowledged
    handled = [r for call in deployment.recorded("queue") for r in call["event"]["Records"]]
    assert [json.loads(r["body"]) for r in handled] == [{"n": "lost"}] * MAX_RECEIVE_COUNT
    assert counters["lost_responses"] == MAX_RECEIVE_COUNT and counters["failures"] == 0
    assert counters["messages_deleted"] == 0 and counters["messages_retried"] == MAX_RECEIVE_COUNT
    assert _count(deployment, dlq) == 1
    _drain(deployment, dlq)


def test_a_lost_stream_response_retries_the_batch(deployment: SmallDeployment) -> None:
    failures_queue = _queue(deployment, "StreamFailures")
    _drain(deployment, failures_queue)
    key = f"lost-{uuid.uuid4().hex}"
    stream_mapping = next(m for m in deployment.stack.mappings if m.source_kind == "dynamodb")
    sqs = deployment.aws.client("sqs")

    def handled() -> list[dict]:
        return [r for e in deployment.recorded("stream") for r in e["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == key]

    def on_failure_for_key() -> bool:  # older poison records of the shared table land there too
        (record,) = handled()[:1] or [None]
        if record is None:
            return False
        number = int(record["dynamodb"]["SequenceNumber"])
        for message in sqs.receive_message(QueueUrl=failures_queue, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
            info = json.loads(message["Body"])["DDBStreamBatchInfo"]
            if int(info["startSequenceNumber"]) <= number <= int(info["endSequenceNumber"]):
                return True
        return False

    # older records of the shared table are re-read from TRIM_HORIZON; only this one's responses are lost
    ours = lambda record: record.get("dynamodb", {}).get("Keys", {}).get("pk", {}).get("S") == key  # noqa: E731
    with running_engine(deployment, lose_matching=ours, retry_delay_s=0.2) as engine:
        assert engine.wait_idle(timeout_s=60)  # caught up: the new record comes in a batch of its own
        deployment.aws.client("dynamodb").put_item(TableName=_table(deployment), Item={"pk": {"S": key}})
        assert _wait_for(on_failure_for_key)
        counters = engine.stats()[mapping_label(stream_mapping)]

    assert len(handled()) == 1 + stream_mapping.max_retry_attempts  # delivered, then retried
    assert counters["lost_responses"] == len(handled())
    _drain(deployment, failures_queue)
