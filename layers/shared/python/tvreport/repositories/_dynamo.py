"""Small DynamoDB helpers shared by the repositories."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from tvreport.clock import utc_now as utc_now  # re-exported: the repositories' clock
from tvreport.stored_values import from_dynamo as from_dynamo  # re-exported: pure, beside the view

_SERIALIZER = TypeSerializer()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expires_at(moment: datetime, days: int) -> int:
    return int((moment + timedelta(days=days)).timestamp())


def to_dynamo(value: Any) -> Any:
    """JSON-like data (floats included) -> what DynamoDB accepts (Decimals)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in item.items()}


def serialize_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in values.items()}


BATCH_LIMIT = 25  # BatchWriteItem's documented maximum per request
BATCH_ATTEMPTS = 8


class UnprocessedItemsLeft(RuntimeError):
    """DynamoDB kept answering with UnprocessedItems after every retry."""


def batch_delete(table: Any, keys: list[dict[str, Any]], wait: Any = None, attempts: int = BATCH_ATTEMPTS) -> int:
    """Delete keys in batches of 25, re-sending UnprocessedItems with backoff and jitter,
    as AWS documents. (boto3's batch_writer re-sends them at once and without end.)"""
    client = table.meta.client  # the resource's client: plain Python values, no type tags
    for start in range(0, len(keys), BATCH_LIMIT):
        pending = [{"DeleteRequest": {"Key": key}} for key in keys[start:start + BATCH_LIMIT]]
        for attempt in Retrying(stop=stop_after_attempt(attempts), reraise=True,
                                wait=wait or wait_random_exponential(multiplier=0.05, max=2),
                                retry=retry_if_exception_type(UnprocessedItemsLeft)):
            with attempt:
                reply = client.batch_write_item(RequestItems={table.name: pending})
                pending = (reply.get("UnprocessedItems") or {}).get(table.name, [])
                if pending:
                    raise UnprocessedItemsLeft(f"{len(pending)} of a batch left unprocessed")
    return len(keys)
