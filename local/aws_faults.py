"""A WSGI layer in front of moto that makes it behave like AWS under load.

- **Linearizable DynamoDB.** Every DynamoDB (and DynamoDB Streams) request is
  dispatched under one lock, so a conditional write or a transaction is atomic
  against every other request, as on DynamoDB. moto alone is not: its
  transactions restore whole tables from a copy when they cancel, undoing what
  other threads wrote meanwhile (and what the undone writes put in the table's
  stream is dropped too: local/moto_rollback.py).
- **Injected API faults**, per operation (`"dynamodb:TransactWriteItems"`,
  `"dynamodb:*"`, `"sqs:SendMessageBatch"`, `"*"`), answered in the shapes
  botocore's service models document:
  TransactWriteItems -> 400 TransactionCanceledException with one
  CancellationReason per TransactItem (`TransactionConflict` or
  `ThrottlingError` on one item, `None` on the rest); other DynamoDB operations
  -> 400 ThrottlingException / ProvisionedThroughputExceededException or 500
  InternalServerError; SQS SendMessageBatch -> 200 with some entries in
  `Failed` (only the others reach moto) or a 503; any other operation -> 500.
  A faulted request is never applied (what AWS answers for throttling; a 500
  that was applied anyway is not modelled).
- **Only the code under test sees faults.** The runner's clients (deploy,
  pollers, the engine's receive/delete, tests' setup) sign with
  RUNNER_ACCESS_KEY_ID and are exempt; functions sign with the worker
  environment's key. botocore's retries in the functions stay as deployed, so
  the code sees what survives them.
"""
from __future__ import annotations

import io
import json
import random
import re
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

RUNNER_ACCESS_KEY_ID = "local-runner"
FAULT_KEYS_HELP = (
    "RATE, or OP=RATE[,OP=RATE...] with OP like dynamodb:TransactWriteItems, dynamodb:*, sqs:SendMessageBatch, *"
)

# What `--aws-faults RATE` covers: DynamoDB's data plane and SQS batch sends.
DYNAMODB_DATA_OPERATIONS = frozenset(
    {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
        "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
    }
)
_DYNAMODB_TYPE = "com.amazonaws.dynamodb.v20120810#"
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
_TARGET_PREFIXES = {"DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodbstreams", "AmazonSQS": "sqs"}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")
_LOCKED_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})

# Messages as DynamoDB and SQS word them.
_CANCELLATION_MESSAGES = {
    "TransactionConflict": "Transaction is ongoing for the item",
    "ThrottlingError": "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly.",
}
_DYNAMODB_ERRORS = (  # (code, type prefix, status, message)
    ("ThrottlingException", "com.amazon.coral.availability#", 400, "Rate of requests exceeds the allowed throughput."),
    ("ProvisionedThroughputExceededException", _DYNAMODB_TYPE, 400,
     "The level of configured provisioned throughput for the table was exceeded. "
     "Consider increasing your provisioning level with the UpdateTable API."),
    ("InternalServerError", _DYNAMODB_TYPE, 500, "Internal server error"),
)

StartResponse = Callable[..., Any]


def uniform_faults(rate: float) -> dict[str, float]:
    """What `--aws-faults RATE` means: that share of DynamoDB data-plane calls and
    of SQS SendMessageBatch calls made by functions."""
    return {"dynamodb:*": rate, "sqs:SendMessageBatch": rate}


def parse_fault_rates(text: str) -> dict[str, float]:
    """`0.05` -> uniform_faults(0.05); `dynamodb:TransactWriteItems=0.3,sqs:*=0.1` -> that mapping."""
    text = text.strip()
    try:
        return uniform_faults(_rate(text))
    except ValueError:
        pass
    rates: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{part!r}: expected OP=RATE ({FAULT_KEYS_HELP})")
        rates[key.strip()] = _rate(value)
    if not rates:
        raise ValueError(f"no rates in {text!r} ({FAULT_KEYS_HELP})")
    return rates


def _rate(text: str) -> float:
    rate = float(text)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate {rate} is not between 0 and 1")
    return rate


class HostileAws:
    """WSGI middleware around moto's dispatcher: the DynamoDB lock and the faults."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self._dynamodb_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._rates: dict[str, float] = {}
        self._random = random.Random()
        self._injected: dict[str, Counter[str]] = defaultdict(Counter)
        self._calls: Counter[str] = Counter()
        # Called as observer(service, operation, from_function, request_body, response_body)
        # after each DynamoDB/SQS/Secrets Manager answer: the bench's request log.
        self.observers: list[Callable[[str, str, bool, bytes, bytes], None]] = []

    # -- configuration and figures ------------------------------------------------

    def configure(self, rates: Mapping[str, float] | None, seed: int | None = None) -> None:
        """Replace the fault rates (None or {}: no faults) and reset the counts."""
        for key, rate in (rates or {}).items():
            if ":" not in key and key != "*":
                raise ValueError(f"{key!r}: expected service:Operation ({FAULT_KEYS_HELP})")
            _rate(str(rate))
        with self._state_lock:
            self._rates = dict(rates or {})
            self._random = random.Random(seed)
            self._injected.clear()
            self._calls.clear()

    def stats(self) -> dict[str, Any]:
        """Functions' calls per operation and the faults injected per operation and kind."""
        with self._state_lock:
            return {
                "calls": dict(sorted(self._calls.items())),
                "injected": {op: dict(kinds) for op, kinds in sorted(self._injected.items())},
                # faulted requests; FailedEntries counts entries inside them
                "injected_total": sum(
                    n for kinds in self._injected.values() for kind, n in kinds.items() if kind != "FailedEntries"
                ),
            }

    def rate_for(self, service: str, operation: str) -> float:
        rates = self._rates
        for key in (f"{service}:{operation}", f"{service}:*", "*"):
            if key in rates:
                wildcard = key != f"{service}:{operation}"
                if wildcard and service == "dynamodb" and operation not in DYNAMODB_DATA_OPERATIONS:
                    continue  # wildcards cover the data plane, not CreateTable or DescribeTable
                return rates[key]
        return 0.0

    # -- WSGI -----------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        service, operation = _identify(environ)
        from_function = _access_key(environ) != RUNNER_ACCESS_KEY_ID
        if from_function and service:
            fault = self._draw(service, operation)
            if fault is not None:
                return self._inject(fault, service, operation, environ, start_response)
        if self.observers and service:
            return self._observed(service, operation, from_function, environ, start_response)
        return self._dispatch(service, environ, start_response)

    def _observed(
        self, service: str, operation: str, from_function: bool, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Dispatch with the whole answer in hand, then tell the observers."""
        request = _request_body(environ)
        status, headers, body = _call(lambda env, respond: self._dispatch(service, env, respond), environ)
        for observer in list(self.observers):
            observer(service, operation, from_function, request, body if status.startswith("200") else b"")
        return _raw_answer(start_response, status, headers, body)

    def _dispatch(self, service: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if service not in _LOCKED_SERVICES:
            return self.app(environ, start_response)
        with self._dynamodb_lock:  # the whole answer is produced inside the lock
            response = self.app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()

    def _draw(self, service: str, operation: str) -> str | None:
        """The kind of fault for this call, or None; counts the call."""
        with self._state_lock:
            self._calls[f"{service}:{operation}"] += 1
            rate = self.rate_for(service, operation)
            if rate <= 0 or self._random.random() >= rate:
                return None
            if service == "dynamodb" and operation == "TransactWriteItems":
                return self._random.choice(tuple(_CANCELLATION_MESSAGES))
            if service == "dynamodb":
                return self._random.choice(_DYNAMODB_ERRORS)[0]
            if service == "sqs" and operation == "SendMessageBatch":
                return self._random.choice(("PartialFailure", "ServiceUnavailable"))
            return "InternalFailure"

    def _count(self, service: str, operation: str, kind: str, amount: int = 1) -> None:
        with self._state_lock:
            self._injected[f"{service}:{operation}"][kind] += amount

    def _inject(
        self, fault: str, service: str, operation: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if fault in _CANCELLATION_MESSAGES:
            items = _request_json(environ).get("TransactItems") or [{}]
            self._count(service, operation, fault)
            return _json_answer(start_response, 400, _transaction_cancelled(items, fault, self._pick_index(len(items))))
        if service == "dynamodb":
            code, prefix, status, message = next(error for error in _DYNAMODB_ERRORS if error[0] == fault)
            self._count(service, operation, fault)
            return _json_answer(start_response, status, {"__type": prefix + code, "message": message})
        if fault == "PartialFailure":
            return self._partial_send_batch(service, operation, environ, start_response)
        self._count(service, operation, fault)
        status = 503 if fault == "ServiceUnavailable" else 500
        query_code = f"{fault};Receiver"  # SQS's awsQueryCompatible error code header
        return _json_answer(
            start_response,
            status,
            {"__type": f"com.amazonaws.{service}#{fault}", "message": "Service is unavailable, try again later."},
            extra_headers=[("x-amzn-query-error", query_code)],
        )

    def _pick_index(self, size: int) -> int:
        with self._state_lock:
            return self._random.randrange(size)

    def _partial_send_batch(
        self, service: str, operation: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Fail a random non-empty subset of the entries; send the rest to moto."""
        request = _request_json(environ)
        entries = list(request.get("Entries") or [])
        if not entries:  # moto answers the documented EmptyBatchRequest itself
            return self.app(environ, start_response)
        with self._state_lock:
            failed_ids = {entry.get("Id") for entry in entries if self._random.random() < 0.5}
            if not failed_ids:
                failed_ids = {self._random.choice(entries).get("Id")}
        self._count(service, operation, "FailedEntries", len(failed_ids))
        self._count(service, operation, "PartialFailure")
        failed = [
            {"Id": entry_id, "SenderFault": False, "Code": "InternalError",
             "Message": "An internal error occurred. Please try again."}
            for entry_id in (entry.get("Id") for entry in entries)
            if entry_id in failed_ids
        ]
        kept = [entry for entry in entries if entry.get("Id") not in failed_ids]
        if not kept:
            return _json_answer(start_response, 200, {"Successful": [], "Failed": failed})
        status, headers, body = _call(self.app, _with_body(environ, {**request, "Entries": kept}))
        if not status.startswith("200"):
            return _raw_answer(start_response, status, headers, body)
        answer = json.loads(body or b"{}")
        answer["Failed"] = [*answer.get("Failed", []), *failed]
        answer.setdefault("Successful", [])
        return _json_answer(start_response, 200, answer)


def _transaction_cancelled(items: list[Any], code: str, index: int) -> dict[str, Any]:
    reasons: list[dict[str, str]] = [{"Code": "None"} for _ in items]
    reasons[index] = {"Code": code, "Message": _CANCELLATION_MESSAGES[code]}
    codes = ", ".join(reason["Code"] for reason in reasons)
    return {
        "__type": _DYNAMODB_TYPE + "TransactionCanceledException",
        "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        "CancellationReasons": reasons,
    }


# ---------------------------------------------------------------- WSGI helpers


def _identify(environ: Mapping[str, Any]) -> tuple[str, str]:
    """(service, operation): from X-Amz-Target for the JSON protocols, else the
    SigV4 credential scope's service with the HTTP method."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    prefix, _, operation = target.partition(".")
    if prefix in _TARGET_PREFIXES and operation:
        return _TARGET_PREFIXES[prefix], operation
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", "") or environ.get("QUERY_STRING", ""))
    if match:
        return match.group(2), environ.get("REQUEST_METHOD", "")
    return "", ""


def _access_key(environ: Mapping[str, Any]) -> str:
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1)
    presigned = re.search(r"X-Amz-Credential=([^/%&]+)", environ.get("QUERY_STRING", ""))
    return presigned.group(1) if presigned else ""


def _request_body(environ: dict[str, Any]) -> bytes:
    """Read the body once and put it back, so moto can read it again."""
    cached = environ.get("local.body")
    if cached is not None:
        return cached
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["local.body"] = body
    return body


def _request_json(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = json.loads(_request_body(environ) or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _with_body(environ: dict[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    body = json.dumps(document).encode()
    changed = dict(environ)
    changed.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "local.body": body})
    return changed


def _call(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    response = app(environ, start_response)
    try:
        body = b"".join(response)
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


_REASONS = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}


def _json_answer(
    start_response: StartResponse,
    status: int,
    document: Mapping[str, Any],
    extra_headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(document).encode()
    headers = [
        ("Content-Type", _JSON_CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        *(extra_headers or []),
    ]
    start_response(f"{status} {_REASONS.get(status, '')}".strip(), headers)
    return [body]


def _raw_answer(start_response: StartResponse, status: str, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
    start_response(status, [*kept, ("Content-Length", str(len(body)))])
    return [body]
