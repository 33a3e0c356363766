"""Sends stage messages (one model per queue) in batches of ten.

Every message carries `MessageGroupId` = its session id. On a standard queue that
turns on SQS fair queues: a session with many messages in flight (a long history's
chunks) is a noisy tenant, and the queue delivers the other sessions' messages
first, so a light session is not stuck behind a huge one. Nothing on the queue is
configured for it; consumers are unchanged (the local engine orders the same way,
local/fair_queue.py)."""
from __future__ import annotations

from collections.abc import Sequence

from tvreport import aws
from tvreport.messages import StageMessage
from tvreport.observability import logger


class PublishError(RuntimeError):
    pass


def _body(message: StageMessage) -> str:
    serialize = getattr(message, "serialize", None)  # models carrying a secret serialize it themselves
    return serialize() if callable(serialize) else message.model_dump_json()


def send(queue_url: str, messages: Sequence[StageMessage]) -> None:
    sqs = aws.client("sqs")
    for start in range(0, len(messages), 10):
        batch = messages[start:start + 10]
        entries = [{"Id": str(i), "MessageBody": _body(m), "MessageGroupId": m.session_id}
                   for i, m in enumerate(batch)]
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if reply.get("Failed"):
            codes = sorted({f.get("Code", "?") for f in reply["Failed"]})
            raise PublishError(f"{len(reply['Failed'])} message(s) not sent: {codes}")
    logger.debug("messages sent", extra={"count": len(messages)})
