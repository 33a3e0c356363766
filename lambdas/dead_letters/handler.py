"""Dead letters of every stage queue."""
from aws_lambda_powertools.utilities.batch import EventType

from tvreport import wiring
from tvreport.batch_handler import batch_handler
from tvreport.stages import dead_letters

deps = wiring.dead_letter_deps()  # cold start: settings validated here

handler = batch_handler(lambda record, _: dead_letters.handle(record.body, record.event_source_arn, deps),
                        EventType.SQS)
