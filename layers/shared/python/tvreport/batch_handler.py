"""The one shape of every batch-fed handler: Powertools logger, tracer and metrics
around `process_partial_response`, so failed records are reported one by one
(ReportBatchItemFailures) and the rest of the batch is acknowledged. A record whose
session is gone (SessionGone) is acknowledged: it has nothing left to do.

X-Ray and the function's log outlive DELETE /sessions, and an exception's message
can quote its record (a pydantic error's `input_value`, a show title): traces get
no responses and no exception text, only the exception's type, and a batch whose
every record failed ends with an error that names types and counts only.

The handler carries its `processor`, so a test reads the failed messages of the last batch.

Each handler imports Powertools' batch module (its EventType) before any tvreport
module, so before pydantic: imported after pydantic, Powertools' batch types build its
parser's SQS, DynamoDB, Kinesis and Kafka record models, which no handler uses (about
0.3x of the import floor; tests/infrastructure/test_layer_imports.py checks)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from tvreport.observability import logger, metrics, tracer
from tvreport.session_model import SessionGone

M = TypeVar("M", bound=BaseModel)
RecordHandler = Callable[[Any, LambdaContext], None]


class BatchHandler(Protocol):
    processor: BatchProcessor  # the last batch's success_messages / fail_messages

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse: ...


class BatchFailed(RuntimeError):
    """Every record of the batch failed (they all return to their queue or stream)."""


def parse_message(record: SQSRecord, model: type[M]) -> M:
    """The record's body as its queue's model; the session id joins every log line."""
    message = model.model_validate_json(record.body)
    session_id = getattr(message, "session_id", None)
    if session_id:
        logger.append_keys(session_id=session_id)
    return message


def batch_handler(on_record: RecordHandler, event_type: EventType = EventType.SQS) -> BatchHandler:
    processor = BatchProcessor(event_type=event_type)

    @tracer.capture_method(capture_response=False, capture_error=False)
    def traced(record: Any, lambda_context: LambdaContext) -> Exception | None:
        """The record's failure is returned, not raised, inside the subsegment:
        X-Ray's SDK would store the exception's message with the trace."""
        try:
            on_record(record, lambda_context)
        except SessionGone:
            # Deleted, ended or missing: nothing left to do, and retrying changes nothing.
            logger.info("session gone; record acknowledged without work")
            metrics.add_metric(name="RecordsForGoneSessions", unit=MetricUnit.Count, value=1)
        except Exception as error:  # noqa: BLE001 - re-raised by record_handler
            tracer.put_annotation("record_error", type(error).__name__)
            logger.warning("record failed; it returns to its source", extra={"error_type": type(error).__name__})
            return error
        return None

    def record_handler(record: Any, lambda_context: LambdaContext) -> None:
        error = traced(record, lambda_context)
        if error is not None:
            raise error

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        try:
            return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                            context=context)
        except BatchProcessingError as error:
            types = Counter(info[0].__name__ for info in error.child_exceptions if info and info[0])
            summary = ", ".join(f"{count} {name}" for name, count in sorted(types.items()))
            raise BatchFailed(f"every record of the batch failed: {summary}") from None

    handler.processor = processor
    return cast(BatchHandler, handler)
