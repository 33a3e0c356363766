"""The engine's fair order (local/fair_queue.py) on the small app's queue in moto:
the session with the fewest messages being processed goes first, and waiting for
its turn costs a message no receive (no early DLQ)."""
from __future__ import annotations

import json

from local.engine import mapping_label
from local.fair_queue import DEFAULT_WINDOW, FairReceiver

from .conftest import SmallDeployment
from .small_app import SQS_TIMEOUT_S
from .test_engine import _count, _queue, _sqs_mapping, running_engine

BATCH = 5  # the small app's mapping: batch 5, 2 pollers


def _send(deployment: SmallDeployment, session: str, count: int, **body: object) -> None:
    sqs = deployment.aws.client("sqs")
    work = _queue(deployment, "Work")
    for start in range(0, count, 10):
        sqs.send_message_batch(QueueUrl=work, Entries=[
            {"Id": str(n), "MessageBody": json.dumps({"session": session, "n": n, **body}), "MessageGroupId": session}
            for n in range(start, min(count, start + 10))
        ])


def _invocations(deployment: SmallDeployment) -> list[list[dict]]:
    """Each invocation's records (the handler records at its start), in order."""
    return [call["event"]["Records"] for call in deployment.recorded("queue")]


def _sessions(invocations: list[list[dict]]) -> list[list[str]]:
    return [[json.loads(record["body"])["session"] for record in records] for records in invocations]


def test_the_engine_serves_a_second_session_before_the_first_ones_backlog_is_drained(
    deployment: SmallDeployment,
) -> None:
    # Given a session's backlog of 15 messages (three batches) and then one message of another
    _send(deployment, "heavy", 15, sleep=0.2)
    _send(deployment, "light", 1)

    # When the engine serves the queue with a window that holds them all
    with running_engine(deployment, fair_window=30) as engine:
        assert engine.wait_idle(timeout_s=60)
        counters = engine.stats()[mapping_label(_sqs_mapping(deployment))]

    # Then light's message went out in one of the first two batches (the two pollers'
    # first), not behind heavy's backlog; every message once, each batch's heavy ones in
    # send order (the two pollers' invocations interleave)
    invocations = _invocations(deployment)
    sessions = _sessions(invocations)
    assert any("light" in batch for batch in sessions[:2]), sessions
    assert sum(batch.count("light") for batch in sessions) == 1
    heavy = [[json.loads(r["body"])["n"] for r in records if json.loads(r["body"])["session"] == "heavy"]
             for records in invocations]
    assert sorted(n for batch in heavy for n in batch) == list(range(15))
    assert all(batch == sorted(batch) for batch in heavy)
    assert all(len(batch) <= BATCH for batch in sessions)
    assert {r["attributes"]["MessageGroupId"] for records in invocations for r in records} == {"heavy", "light"}
    assert counters["messages_deleted"] == 16 and counters["failures"] == 0


def test_with_a_window_of_one_batch_the_second_session_waits_behind_the_backlog(deployment: SmallDeployment) -> None:
    # The control: the engine receives in the queue's own order when it holds no more
    # than a batch, so the fair order above is the window's doing.
    _send(deployment, "heavy", 15, sleep=0.2)
    _send(deployment, "light", 1)

    with running_engine(deployment, fair_window=1) as engine:
        assert engine.wait_idle(timeout_s=60)

    sessions = _sessions(_invocations(deployment))
    assert sessions[-1] == ["light"], sessions


def test_messages_waiting_their_turn_keep_their_receive_count(deployment: SmallDeployment) -> None:
    # Given more messages than the two pollers take at once (maxReceiveCount is 2, so a
    # wait that counted as a receive would send a message to the DLQ after one more)
    _send(deployment, "heavy", 14, sleep=0.4)
    _send(deployment, "light", 3, sleep=0.4)
    work, dlq = _queue(deployment, "Work"), _queue(deployment, "WorkDlq")

    with running_engine(deployment, fair_window=30) as engine:
        assert engine.wait_idle(timeout_s=60)

    # Then each message was delivered once, on its first receive, and none dead-lettered
    records = [r for records in _invocations(deployment) for r in records]
    assert len(records) == 17
    assert len({r["messageId"] for r in records}) == 17
    assert {r["attributes"]["ApproximateReceiveCount"] for r in records} == {"1"}
    assert _count(deployment, work) == 0 and _count(deployment, dlq) == 0


def test_a_receiver_hands_each_slot_to_the_group_with_fewest_in_flight(deployment: SmallDeployment) -> None:
    # Given three messages of session a, then one of b, then one without a group
    sqs = deployment.aws.client("sqs")
    work = _queue(deployment, "Work")
    _send(deployment, "a", 3)
    _send(deployment, "b", 1)
    sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"session": "-", "n": 0}))
    receiver = FairReceiver(sqs, work, batch_size=1, wait_s=0, function_timeout_s=SQS_TIMEOUT_S, window=10)

    taken: list[dict] = []

    def take() -> str:
        (message,) = receiver.take()
        taken.append(message)
        body = json.loads(message["Body"])
        return f"{body['session']}{body['n']}"

    try:
        # When batches are taken one at a time while earlier ones are still processing
        first, second, third = take(), take(), take()
        # Then a, b and the ungrouped message (its own tenant) each get one before a's second
        assert (first, second, third) == ("a0", "b0", "-0")
        in_flight = receiver.in_flight()
        assert in_flight.pop("a") == in_flight.pop("b") == 1
        assert list(in_flight.values()) == [1] and next(iter(in_flight)).startswith("message:")
        assert take() == "a1"
        assert receiver.buffered() == 1
    finally:
        # And what is left in the window goes back to the queue at once, in its order
        receiver.close()
        for message in taken:  # the taken ones acknowledged, as the engine would
            sqs.delete_message(QueueUrl=work, ReceiptHandle=message["ReceiptHandle"])
    (left,) = sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                  MessageSystemAttributeNames=["All"])["Messages"]
    assert json.loads(left["Body"]) == {"session": "a", "n": 2}
    assert left["Attributes"]["ApproximateReceiveCount"] == "2"  # received once into the window, now again
    # (deleted by this receipt: one more receive would move it to the DLQ, maxReceiveCount 2)
    sqs.delete_message(QueueUrl=work, ReceiptHandle=left["ReceiptHandle"])
    assert _count(deployment, work) == 0 and _count(deployment, _queue(deployment, "WorkDlq")) == 0


def test_the_default_window_reaches_a_light_session_behind_a_long_ones_two_waves(deployment: SmallDeployment) -> None:
    # Given what a long history keeps queued (two waves of ten chunks and ten hand-off
    # parts), then one message of a light session
    sqs = deployment.aws.client("sqs")
    work = _queue(deployment, "Work")
    _send(deployment, "long", 30)
    _send(deployment, "light", 1)
    receiver = FairReceiver(sqs, work, batch_size=1, wait_s=0, function_timeout_s=SQS_TIMEOUT_S)
    taken: list[dict] = []
    try:
        # When the two pollers take their first messages
        taken += receiver.take() + receiver.take()
        # Then the light one is the second, as SQS fair queues weigh every queued message
        assert [json.loads(m["Body"])["session"] for m in taken] == ["long", "light"]
        assert receiver.window >= DEFAULT_WINDOW and receiver.buffered() == 29
    finally:
        receiver.close()
        for message in taken:
            sqs.delete_message(QueueUrl=work, ReceiptHandle=message["ReceiptHandle"])
    assert _count(deployment, work) == 29  # the window given back
    sqs.purge_queue(QueueUrl=work)
