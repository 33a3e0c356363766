"""AWS answers moto never gives, injected at the boto edge of one real client.

moto never cancels a transaction for a conflict, never throttles and never leaves
batch items unprocessed. `Edge(client).answer(operation, ...)` makes the client's next
calls of that operation get the given answers instead of reaching moto; the answer is
the raw JSON body DynamoDB or SQS sends, parsed by botocore's own parser against its
service model (modeled error fields such as CancellationReasons included), so the
code under test sees exactly what botocore would give it. Every other call, and every
call after the queued answers, goes to moto as usual."""
from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser

Answer = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def cancelled(*codes: str) -> dict[str, Any]:
    """A TransactionCanceledException as DynamoDB sends it: one reason per item, in
    request order, the literal "None" for an item without an error."""
    messages = {"ConditionalCheckFailed": "The conditional request failed",
                "TransactionConflict": "Transaction is ongoing for the item",
                "ThrottlingError": "Throughput exceeds the current capacity for one or more global secondary indexes."}
    reasons = [{"Code": code, **({"Message": messages[code]} if code in messages else {})} for code in codes]
    return {"status": 400, "type": "TransactionCanceledException",
            "body": {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                     "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons "
                                f"[{', '.join(codes)}]",
                     "CancellationReasons": reasons}}


def all_unprocessed(request: dict[str, Any]) -> dict[str, Any]:
    """A BatchWriteItem answer that processed nothing (as under throttling)."""
    return {"status": 200, "body": {"UnprocessedItems": request["RequestItems"]}}


def sqs_entries_failed(request: dict[str, Any]) -> dict[str, Any]:
    """A SendMessageBatch answer with every entry in `Failed` (a server-side fault)."""
    failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError",
               "Message": "We encountered an internal error. Please try again."} for e in request["Entries"]]
    return {"status": 200, "body": {"Successful": [], "Failed": failed}}


class Edge:
    def __init__(self, client: Any):
        self._client = client
        self._answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.calls: dict[str, int] = defaultdict(int)  # every call of an answered operation
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"before-call.{service_id}", self._before_call)

    def answer(self, operation: str, *answers: Answer) -> Edge:
        self._answers[operation].extend(answers)
        return self

    def _before_call(self, model, params, **_: Any):
        self.calls[model.name] += 1
        queue = self._answers.get(model.name)
        if not queue:
            return None  # on to moto
        answer = queue.popleft()
        if callable(answer):
            answer = answer(json.loads(params["body"] or b"{}"))
        return self._parsed(model, answer)

    @staticmethod
    def _parsed(model, answer: dict[str, Any]):
        status = answer["status"]
        headers = {"x-amzn-errortype": answer["type"]} if "type" in answer else {}
        raw = {"status_code": status, "headers": headers, "body": json.dumps(answer["body"]).encode()}
        parser = create_parser(model.service_model.protocol)
        parsed = parser.parse(raw, model.output_shape)
        if status >= 300:  # what botocore's endpoint adds for a modeled error
            error_shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
            if error_shape is not None:
                parsed.update(parser.parse(raw, error_shape))
        return AWSResponse(None, status, headers, None), parsed
