"""Progress tracker: the sessions table's stream."""
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tvreport import wiring
from tvreport.observability import logger, metrics, tracer
from tvreport.stages import tracker

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
deps = wiring.tracker_deps()


@tracer.capture_method
def record_handler(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if image and "session_id" in image:
        logger.append_keys(session_id=str(image["session_id"]))
    tracker.on_session_image(image, deps)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
