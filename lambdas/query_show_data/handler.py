"""queryShowData: one chunk of shows per message."""
from aws_lambda_powertools.utilities.batch import EventType

from tvreport import wiring
from tvreport.batch_handler import batch_handler, parse_message
from tvreport.messages import ShowChunk
from tvreport.stages import query_show_data

deps = wiring.show_data_deps()  # cold start: settings validated here

handler = batch_handler(lambda record, context: query_show_data.handle(
    parse_message(record, ShowChunk), deps, context.get_remaining_time_in_millis), EventType.SQS)
