"""Stream consumer: a DynamoDB table stream -> function, with bounded retries."""

from __future__ import annotations

from aws_cdk import (
    Duration,
    aws_dynamodb as dynamodb,
    aws_lambda as lambda_,
    aws_lambda_event_sources as event_sources,
    aws_sqs as sqs,
)
from constructs import Construct

FAILURE_RETENTION = Duration.days(14)  # SQS maximum: time to look at what failed


class StreamConsumer(Construct):
    """Shaped like the Solutions Construct `aws-dynamodbstreams-lambda`.

    The stream's defaults retry a failing batch until its records expire (24 h),
    stalling the shard; here a failing batch is split in two until the poison record
    is alone (bisect), retried a bounded number of times, and its position is sent
    to an on-failure queue. Starting position TRIM_HORIZON: a mapping created (or
    re-created) after items were written still sees every record kept on the stream,
    where LATEST would silently skip them. Decisions are made from each record's new
    image, so replaying old records is harmless."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        function: lambda_.IFunction,
        batch_size: int,
        retry_attempts: int,
        max_record_age: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.failure_queue = sqs.Queue(
            self,
            "OnFailureQueue",
            retention_period=FAILURE_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        function.add_event_source(
            event_sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=batch_size,
                bisect_batch_on_error=True,
                retry_attempts=retry_attempts,
                max_record_age=max_record_age,
                report_batch_item_failures=True,
                on_failure=event_sources.SqsDlq(self.failure_queue),
            )
        )
