"""The one shape of every batch-fed handler: Powertools logger, tracer and metrics
around `process_partial_response`, so failed records are reported one by one
(ReportBatchItemFailures) and the rest of the batch is acknowledged. A record whose
session is gone (SessionGone) is acknowledged: it has nothing left to do."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from tvreport.observability import logger, metrics, tracer
from tvreport.session_model import SessionGone

M = TypeVar("M", bound=BaseModel)
RecordHandler = Callable[[Any, LambdaContext], None]


def parse_message(record: SQSRecord, model: type[M]) -> M:
    """The record's body as its queue's model; the session id joins every log line."""
    message = model.model_validate_json(record.body)
    session_id = getattr(message, "session_id", None)
    if session_id:
        logger.append_keys(session_id=session_id)
    return message


def batch_handler(on_record: RecordHandler, event_type: EventType = EventType.SQS) -> Callable[[dict, LambdaContext], dict]:
    processor = BatchProcessor(event_type=event_type)

    @tracer.capture_method
    def record_handler(record: Any, lambda_context: LambdaContext) -> None:
        try:
            on_record(record, lambda_context)
        except SessionGone:
            # Deleted, ended or missing: nothing left to do, and retrying changes nothing.
            logger.info("session gone; record acknowledged without work")
            metrics.add_metric(name="RecordsForGoneSessions", unit=MetricUnit.Count, value=1)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict, context: LambdaContext) -> dict:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)

    return handler
