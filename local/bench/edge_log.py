"""What the moto edge saw during a bench: DynamoDB capacity units (ReturnConsumedCapacity
is not set by the code, so units are computed from the items in each request and
answer), SQS and Secrets Manager requests, and the trigger latency of the AI stages
(the stream record whose image first calls for a stage -> that stage's message sent)."""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from tvreport.schema import FOLLOW_UPS

READ_UNIT_BYTES, WRITE_UNIT_BYTES = 4096, 1024
_AI_STAGES = {spec.stage.value for spec in FOLLOW_UPS}
_deserializer = TypeDeserializer()


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one DynamoDB JSON value, by DynamoDB's item-size rules (numbers about
    one byte per two digits plus one; sets and lists 3 bytes plus one per element)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode("utf-8")) for item in inner)
    if kind == "NS":
        return sum(len(item) // 2 + 1 for item in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(item)) for item in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(item) for item in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode("utf-8")) + attribute_size(item) for name, item in inner.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in (item or {}).items())


def _read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / READ_UNIT_BYTES)) * (1.0 if consistent else 0.5)


def _write_units(size: int) -> float:
    return float(max(1, math.ceil(size / WRITE_UNIT_BYTES)))


def _update_size(request: dict[str, Any]) -> int:
    """An update's item size is not in the request: the key plus the values it sets
    (a lower bound; an item grown past 1 KB is under-counted)."""
    return item_size(request.get("Key")) + sum(
        attribute_size(v) for v in (request.get("ExpressionAttributeValues") or {}).values()
    )


def dynamodb_units(operation: str, request: dict[str, Any], answer: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one successful call, on-demand pricing's rules."""
    consistent = bool(request.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(item_size(answer.get("Item")), consistent), 0.0
    if operation == "BatchGetItem":
        consistent_by_table = {
            t: bool(spec.get("ConsistentRead")) for t, spec in (request.get("RequestItems") or {}).items()
        }
        return sum(
            _read_units(item_size(item), consistent_by_table.get(table, False))
            for table, items in (answer.get("Responses") or {}).items()
            for item in items
        ), 0.0
    if operation in ("Query", "Scan"):
        return _read_units(sum(item_size(item) for item in answer.get("Items") or []), consistent), 0.0
    if operation == "TransactGetItems":
        return sum(2 * _read_units(item_size(r.get("Item")), True) for r in answer.get("Responses") or []), 0.0
    if operation == "PutItem":
        return 0.0, _write_units(item_size(request.get("Item")))
    if operation == "UpdateItem":
        return 0.0, _write_units(_update_size(request))
    if operation == "DeleteItem":
        return 0.0, _write_units(item_size(request.get("Key")))
    if operation == "BatchWriteItem":
        units = 0.0
        for writes in (request.get("RequestItems") or {}).values():
            for write in writes:
                put = write.get("PutRequest")
                units += _write_units(item_size(put["Item"]) if put else 0)
        return 0.0, units
    if operation == "TransactWriteItems":
        units = 0.0
        for entry in request.get("TransactItems") or []:
            if "Put" in entry:
                size = item_size(entry["Put"].get("Item"))
            elif "Update" in entry:
                size = _update_size(entry["Update"])
            else:  # Delete, ConditionCheck
                size = item_size((entry.get("Delete") or entry.get("ConditionCheck") or {}).get("Key"))
            units += 2 * _write_units(size)
        return 0.0, units
    return 0.0, 0.0


def _epoch(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.fromisoformat(value).timestamp()
    return None


@dataclass
class EdgeEvent:
    at: float  # time.time() when the answer was in
    service: str
    operation: str
    from_function: bool
    read_units: float = 0.0
    write_units: float = 0.0
    sqs_requests: int = 0  # billed requests (one per 64 KiB of a send)
    messages: int = 0
    table: str | None = None  # a DynamoDB call's TableName, when it names one
    failed: bool = False  # an UpdateItem answered with an error (in a bench: its condition failed)


@dataclass
class EdgeLog:
    """A HostileAws observer. `crossings[(session, stage)]` is the creation time of
    the first stream record whose image calls for that AI stage; `ai_sends[(session,
    stage)]` the first time a function sent that stage's message."""

    events: list[EdgeEvent] = field(default_factory=list)
    crossings: dict[tuple[str, str], float] = field(default_factory=dict)
    ai_sends: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, service: str, operation: str, from_function: bool, request: bytes, answer: bytes) -> None:
        if not answer and service == "dynamodb" and operation == "UpdateItem" and from_function:
            self._failed_update(request)
            return
        if not answer or service not in ("dynamodb", "dynamodbstreams", "sqs", "secretsmanager"):
            return
        now = time.time()
        try:
            request_doc = json.loads(request or b"{}")
            answer_doc = json.loads(answer or b"{}")
        except ValueError:  # not a JSON protocol request (nothing we count)
            return
        event = EdgeEvent(now, service, operation, from_function)
        if service == "dynamodb" and from_function:
            event.read_units, event.write_units = dynamodb_units(operation, request_doc, answer_doc)
            event.table = request_doc.get("TableName")
        elif service == "sqs":
            self._sqs(event, request_doc, answer_doc, now)
        elif service == "dynamodbstreams" and operation == "GetRecords":
            self._stream_records(answer_doc)
        with self._lock:
            self.events.append(event)

    def _failed_update(self, request: bytes) -> None:
        """A failed condition still costs a write unit; the budget bucket's first write
        after an idle spell fails by design. One unit (an item under 1 KB), marked `failed`."""
        try:
            table = json.loads(request or b"{}").get("TableName")
        except ValueError:
            return
        with self._lock:
            self.events.append(EdgeEvent(time.time(), "dynamodb", "UpdateItem", True, write_units=1.0, table=table,
                                         failed=True))

    def _sqs(self, event: EdgeEvent, request: dict[str, Any], answer: dict[str, Any], now: float) -> None:
        if event.operation in ("SendMessage", "SendMessageBatch"):
            entries = request.get("Entries") or [request]
            payload = sum(len(str(entry.get("MessageBody", "")).encode()) for entry in entries)
            event.sqs_requests, event.messages = max(1, math.ceil(payload / 65536)), len(entries)
            for entry in entries:
                self._ai_send(str(entry.get("MessageBody", "")), now)
        elif event.operation == "ReceiveMessage":
            event.messages = len(answer.get("Messages") or [])
            event.sqs_requests = 1 if event.messages else 0  # empty polls are the mapping's, not a session's
        elif event.operation in (
            "DeleteMessage",
            "DeleteMessageBatch",
            "ChangeMessageVisibility",
            "ChangeMessageVisibilityBatch",
        ):
            event.sqs_requests = 1

    def _ai_send(self, body: str, now: float) -> None:
        try:
            message = json.loads(body)
        except ValueError:
            return
        if isinstance(message, dict) and message.get("stage") in _AI_STAGES and "session_id" in message:
            with self._lock:
                self.ai_sends.setdefault((str(message["session_id"]), str(message["stage"])), now)

    def _stream_records(self, answer: dict[str, Any]) -> None:
        from tvreport.progress import decide
        from tvreport.session_model import SessionGone, SessionView

        for record in answer.get("Records") or []:
            change = record.get("dynamodb") or {}
            image = change.get("NewImage")
            created = _epoch(change.get("ApproximateCreationDateTime"))
            if not image or created is None or (image.get("sk") or {}).get("S") != "META":
                continue
            item = {name: _deserializer.deserialize(value) for name, value in image.items()}
            try:
                wanted = decide(SessionView.from_item(item)).emit
            except (SessionGone, KeyError, ValueError, TypeError):  # a tombstone or a stray item: not acted on
                continue
            with self._lock:
                for stage in wanted:
                    self.crossings.setdefault((str(item.get("session_id")), stage.value), created)

    def window(self, started: float, ended: float) -> list[EdgeEvent]:
        with self._lock:
            return [event for event in self.events if started <= event.at <= ended]

    def trigger_latencies(self, session_ids: set[str]) -> list[float]:
        """Seconds from the crossing stream record to the stage's message, per (session, stage)."""
        with self._lock:
            return [
                sent - self.crossings[key]
                for key, sent in self.ai_sends.items()
                if key[0] in session_ids and key in self.crossings
            ]
