"""Small DynamoDB helpers shared by the repositories."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expires_at(moment: datetime, days: int) -> int:
    return int((moment + timedelta(days=days)).timestamp())


def to_dynamo(value: Any) -> Any:
    """JSON-like data (floats included) -> what DynamoDB accepts (Decimals)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    """Decimals -> int/float, sets -> sorted lists, recursively (for JSON output)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_dynamo(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(from_dynamo(v) for v in value)
    return value


def serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in item.items()}


def serialize_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in values.items()}


def deserialize_image(image: dict[str, Any]) -> dict[str, Any]:
    """A stream record's NewImage/OldImage (typed JSON) -> a plain item."""
    return {k: _DESERIALIZER.deserialize(v) for k, v in image.items()}
