"""queryActivities: one history (or the rest of one) per message."""
from aws_lambda_powertools.utilities.batch import EventType

from tvreport import wiring
from tvreport.batch_handler import batch_handler, parse_message
from tvreport.messages import ActivitiesRequest
from tvreport.stages import query_activities

deps = wiring.activities_deps()  # cold start: settings validated here

handler = batch_handler(lambda record, context: query_activities.handle(
    parse_message(record, ActivitiesRequest), context.get_remaining_time_in_millis, deps), EventType.SQS)
