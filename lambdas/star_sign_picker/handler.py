"""starSignPicker: star sign and TV personality."""
from aws_lambda_powertools.utilities.batch import EventType

from tvreport import wiring
from tvreport.batch_handler import batch_handler, parse_message
from tvreport.messages import AiStageRequest
from tvreport.stages import ai_stages

deps = wiring.ai_deps()  # cold start: settings validated here

handler = batch_handler(lambda record, _: ai_stages.handle(parse_message(record, AiStageRequest), deps), EventType.SQS)
