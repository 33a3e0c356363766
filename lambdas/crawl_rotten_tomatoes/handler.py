"""crawlRottenTomatoes: one chunk of shows per message."""
from aws_lambda_powertools.utilities.batch import EventType

from tvreport import wiring
from tvreport.batch_handler import batch_handler, parse_message
from tvreport.messages import RtChunk
from tvreport.stages import crawl_rotten_tomatoes

deps = wiring.crawl_deps()  # cold start: settings validated here

handler = batch_handler(lambda record, context: crawl_rotten_tomatoes.handle(
    parse_message(record, RtChunk), deps, context.get_remaining_time_in_millis), EventType.SQS)
