"""Looking into queues without taking messages away, and moving a DLQ back.

SQS has no "peek": a message is read by receiving it, which hides it for the
visibility timeout and adds one to its receive count. So `peek` receives with a
short visibility and at once sets the visibility of what it got back to 0, and it
is used on dead-letter queues only: they have no redrive policy of their own, so a
higher receive count costs nothing there, while on a stage queue every peek would
bring a message one receive closer to its DLQ. Stage queues are shown by their
approximate counts instead."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tvreport import aws

PEEK_VISIBILITY_S = 20  # if we die before releasing, the message is back this soon
MOVE_VISIBILITY_S = 60  # a copy-redrive batch must be sent and deleted within this


@dataclass(frozen=True)
class Peeked:
    message_id: str
    body: str
    receive_count: int
    sent_at: str


def depth(queue_url: str) -> dict[str, int]:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))}


def arn(queue_url: str) -> str:
    return aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def peek(queue_url: str, limit: int = 100) -> list[Peeked]:
    """Up to `limit` messages of the queue, left in it (see the module's note).
    Messages in flight to a consumer at that moment are not seen."""
    sqs = aws.client("sqs")
    seen: dict[str, Peeked] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(10, limit - len(seen)),
                                        VisibilityTimeout=PEEK_VISIBILITY_S, WaitTimeSeconds=0,
                                        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
            messages = reply.get("Messages", [])
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                attributes = message.get("Attributes", {})
                seen[message["MessageId"]] = Peeked(
                    message_id=message["MessageId"], body=message.get("Body", ""),
                    receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
                    sent_at=_iso_ms(attributes.get("SentTimestamp")))
    finally:
        _release(queue_url, handles)
    return list(seen.values())


def _release(queue_url: str, handles: list[str]) -> None:
    sqs = aws.client("sqs")
    for start in range(0, len(handles), 10):
        entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                   for i, h in enumerate(handles[start:start + 10])]
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        # A failed entry (the handle expired) is visible again anyway.


def start_move_task(dead_letter_url: str, queue_url: str) -> dict[str, Any]:
    """SQS's own redrive: an asynchronous move task from the DLQ to the source queue."""
    source, destination = arn(dead_letter_url), arn(queue_url)
    handle = aws.client("sqs").start_message_move_task(SourceArn=source, DestinationArn=destination)["TaskHandle"]
    return {"method": "move-task", "task_handle": handle, "source_arn": source, "destination_arn": destination}


def copy_back(dead_letter_url: str, queue_url: str) -> dict[str, Any]:
    """Redrive by hand: receive from the DLQ, send the same bodies (attributes and
    message group) to the source queue, delete from the DLQ only what was sent. A crash
    between send and delete leaves a copy in both; the stages' ledger counts a chunk
    once anyway."""
    sqs = aws.client("sqs")
    moved = failed = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=MOVE_VISIBILITY_S,
                                       MessageSystemAttributeNames=["MessageGroupId"],
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return {"method": "copy", "moved": moved, "failed": failed}
        entries = []
        for i, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            if group := message.get("Attributes", {}).get("MessageGroupId"):
                entry["MessageGroupId"] = group  # its session: the fair-queue tenant (tvreport.publisher)
            entries.append(entry)
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent = {s["Id"] for s in reply.get("Successful", [])}
        failed += len(messages) - len(sent)
        deletes = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                   for i, m in enumerate(messages) if str(i) in sent]
        if deletes:
            sqs.delete_message_batch(QueueUrl=dead_letter_url, Entries=deletes)
        moved += len(deletes)
        if failed:  # stop rather than spin on a destination that refuses
            return {"method": "copy", "moved": moved, "failed": failed}


def _iso_ms(millis: str | None) -> str:
    if not millis:
        return ""
    moment = datetime.fromtimestamp(int(millis) / 1000, tz=UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
