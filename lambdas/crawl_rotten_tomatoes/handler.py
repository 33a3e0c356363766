"""crawlRottenTomatoes: one chunk of shows per message."""
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tvreport import wiring
from tvreport.messages import RtChunk
from tvreport.observability import logger, metrics, tracer
from tvreport.stages import crawl_rotten_tomatoes

processor = BatchProcessor(event_type=EventType.SQS)
deps = wiring.crawl_deps()


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    message = RtChunk.model_validate_json(record.body)
    logger.append_keys(session_id=message.session_id)
    crawl_rotten_tomatoes.handle(message, deps)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
