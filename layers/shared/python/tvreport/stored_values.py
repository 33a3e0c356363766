"""Stored DynamoDB values as plain Python (pure: the session view and the API use it)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any


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
