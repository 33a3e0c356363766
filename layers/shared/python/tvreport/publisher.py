"""Sends stage messages (one model per queue) in batches of ten."""
from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from tvreport import aws
from tvreport.observability import logger


class PublishError(RuntimeError):
    pass


def _body(message: BaseModel) -> str:
    serialize = getattr(message, "serialize", None)  # models carrying a secret serialize it themselves
    return serialize() if callable(serialize) else message.model_dump_json()


def send(queue_url: str, messages: Sequence[BaseModel]) -> None:
    sqs = aws.client("sqs")
    for start in range(0, len(messages), 10):
        batch = messages[start:start + 10]
        entries = [{"Id": str(i), "MessageBody": _body(m)} for i, m in enumerate(batch)]
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if reply.get("Failed"):
            codes = sorted({f.get("Code", "?") for f in reply["Failed"]})
            raise PublishError(f"{len(reply['Failed'])} message(s) not sent: {codes}")
    logger.debug("messages sent", extra={"count": len(messages)})
