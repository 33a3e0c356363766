"""tvBFF: the character who fits the viewer best."""
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tvreport import wiring
from tvreport.messages import AiStageRequest
from tvreport.observability import logger, metrics, tracer
from tvreport.stages import ai_stages

processor = BatchProcessor(event_type=EventType.SQS)
deps = wiring.ai_deps()


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    message = AiStageRequest.model_validate_json(record.body)
    logger.append_keys(session_id=message.session_id)
    ai_stages.handle(message, deps)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
