"""Progress tracker: the sessions table's stream."""
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from tvreport import wiring
from tvreport.batch_handler import batch_handler
from tvreport.observability import logger
from tvreport.stages import tracker

deps = wiring.tracker_deps()  # cold start: settings validated here


def on_record(record: DynamoDBRecord, _context) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if image and "session_id" in image:
        logger.append_keys(session_id=str(image["session_id"]))
    tracker.on_session_image(image, deps)


handler = batch_handler(on_record, EventType.DynamoDBStreams)
