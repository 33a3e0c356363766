"""Queue worker: DLQ + queue + function + SQS event source mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import (
    Duration,
    aws_lambda as lambda_,
    aws_lambda_event_sources as event_sources,
    aws_logs as logs,
    aws_sqs as sqs,
)
from constructs import Construct

from stacks.config import VISIBILITY_TIMEOUT_FACTOR, QueueStageSpec
from stacks.constructs.pipeline_function import PipelineFunction

DEAD_LETTER_RETENTION = Duration.days(14)  # SQS maximum: time to inspect and redrive


class QueueWorker(Construct):
    """One queue-fed stage, shaped like the Solutions Construct `aws-sqs-lambda`.

    Messages that fail `spec.max_receive_count` times move to the stage's DLQ; the
    event source reports partial batch failures so only the failed messages return
    to the queue; `max_concurrency` bounds how hard the stage hits its upstream."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: QueueStageSpec,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        dead_letter_consumer_timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        # The DLQ is itself consumed (by dead_letters), so it follows the same
        # 6x rule for that consumer's timeout.
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=DEAD_LETTER_RETENTION,
            visibility_timeout=Duration.seconds(
                dead_letter_consumer_timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(spec.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue,
                max_receive_count=spec.max_receive_count,
            ),
        )
        self.function = PipelineFunction(
            self,
            "Worker",
            directory=spec.directory,
            timeout_seconds=spec.timeout_seconds,
            memory_mb=spec.memory_mb,
            layers=layers,
            environment=environment,
            log_retention=log_retention,
        ).function
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=spec.batch_size,
                max_concurrency=spec.max_concurrency,
                report_batch_item_failures=True,
            )
        )
