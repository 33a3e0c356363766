"""Alarms into one SNS topic, and one dashboard, for the operator (issue 10 §3).

Every alarm treats missing data as not breaching: a quiet pipeline (no sessions,
so no metric points) is healthy. Custom metrics are the layer's own
(tvreport.observability names them); Powertools gives each the dimension
service=<function directory>, so a sum over functions is a math expression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import (
    Duration,
    Stack,
    aws_cloudwatch as cloudwatch,
    aws_cloudwatch_actions as cw_actions,
    aws_iam as iam,
    aws_lambda as lambda_,
    aws_sns as sns,
    aws_sns_subscriptions as subscriptions,
    aws_sqs as sqs,
)
from constructs import Construct

from stacks.constructs.pipeline_function import METRICS_NAMESPACE
from tvreport import observability as names
from tvreport.schema import STAGES

PERIOD = Duration.minutes(5)
MAX_ALARM_METRICS = 10  # CloudWatch's limit of metrics in one alarm's math expression
# (upstream as in the metric name, the function that calls it)
UPSTREAMS = tuple(
    (spec.upstream, spec.folder) for spec in STAGES.values() if spec.upstream in ("gandalf", "tmdb", "rottentomatoes")
)


@dataclass(frozen=True)
class StageQueues:
    """One queue-fed stage as the alarms see it."""

    directory: str
    queue: sqs.IQueue
    dead_letter_queue: sqs.IQueue


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        stages: list[StageQueues],
        stream_failure_queue: sqs.IQueue,
        stream_consumer: str,
        alarm_email: str,
        queue_age_alarm_seconds: int,
        stream_iterator_age_alarm_seconds: int,
        failed_sessions_alarm_per_hour: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions = dict(functions)
        self.alarms: list[cloudwatch.Alarm] = []
        self.topic = sns.Topic(self, "AlarmTopic", display_name="TV report pipeline alarms", enforce_ssl=True)
        # The topic policy replaces SNS's default one, so CloudWatch (this account's
        # alarms only) is allowed to publish explicitly.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cw_actions.SnsAction(self.topic)

        for stage in stages:
            self._alarm(
                f"{_camel(stage.directory)}DeadLetters",
                stage.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=1,
                description=f"{stage.directory}: a message reached the dead-letter queue (see `ops dlq`)",
            )
            self._alarm(
                f"{_camel(stage.directory)}OldestMessage",
                stage.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM),
                threshold=queue_age_alarm_seconds,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{stage.directory}: a message waits longer than {queue_age_alarm_seconds} s",
            )
        self._alarm(
            "StreamFailures",
            stream_failure_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=1,
            description="progress_tracker: a stream batch failed after its retries (on-failure queue)",
        )
        self._alarm(
            "TrackerIteratorAge",
            self.functions[stream_consumer].metric(
                "IteratorAge", period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=stream_iterator_age_alarm_seconds * 1000,  # the metric is in milliseconds
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"progress_tracker is more than {stream_iterator_age_alarm_seconds} s behind its stream",
        )
        for directory, function in self.functions.items():
            self._alarm(
                f"{_camel(directory)}Errors",
                function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                threshold=1,
                description=f"{directory}: invocations failed (unhandled error or timeout)",
            )
            self._alarm(
                f"{_camel(directory)}Throttles",
                function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                threshold=1,
                description=f"{directory}: invocations throttled",
            )
        self._alarm(
            "UpstreamAuthFailures",
            self.sum_over_functions(names.UPSTREAM_AUTH_FAILURES, PERIOD),
            threshold=1,
            description="An outside service refused our credentials: check the secrets (wrong or placeholder key)",
        )
        self._alarm(
            "FailedSessions",
            self.sum_over_functions(names.SESSIONS_FAILED, Duration.hours(1)),
            threshold=failed_sessions_alarm_per_hour,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"More than {failed_sessions_alarm_per_hour} sessions FAILED in one hour",
        )
        self.dashboard = self._dashboard(stages)

    # -- metrics ------------------------------------------------------------

    def custom(self, name: str, directory: str, period: Duration = PERIOD) -> cloudwatch.Metric:
        """A layer metric as one function emitted it (Powertools' `service` dimension)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": directory},
            statistic=cloudwatch.Stats.SUM,
            period=period,
        )

    def sum_over_functions(self, name: str, period: Duration) -> cloudwatch.MathExpression:
        """`name` summed over every function that may emit it."""
        if len(self.functions) > MAX_ALARM_METRICS:
            raise ValueError(f"{name}: {len(self.functions)} functions exceed an alarm's {MAX_ALARM_METRICS} metrics")
        # Ids unique per metric name: one graph may hold several of these sums.
        using = {f"{name.lower()}{i}": self.custom(name, d, period) for i, d in enumerate(sorted(self.functions))}
        return cloudwatch.MathExpression(
            expression=f"SUM([{', '.join(using)}])", using_metrics=using, label=name, period=period
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = metric.create_alarm(  # type: ignore[attr-defined]  # each Metric and MathExpression has it
            self,
            construct_id,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm

    # -- dashboard ----------------------------------------------------------

    def _dashboard(self, stages: list[StageQueues]) -> cloudwatch.Dashboard:
        stage_dirs = [stage.directory for stage in stages]
        graph = _graph
        widgets: list[list[cloudwatch.IWidget]] = [
            [
                graph("Invocations per function",
                      [f.metric_invocations(period=PERIOD) for f in self.functions.values()]),
                graph("Chunks done per stage", [self.custom(names.CHUNKS_DONE, d) for d in stage_dirs]),
            ],
            [
                graph("Errors per function", [f.metric_errors(period=PERIOD) for f in self.functions.values()]),
                graph(
                    "Dead letters (visible per DLQ, recorded by dead_letters)",
                    [
                        *(
                            s.dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD)
                            for s in stages
                        ),
                        self.custom(names.DEAD_LETTERS, "dead_letters"),
                    ],
                ),
            ],
            [
                graph(
                    "Upstream calls",
                    [self.custom(f"{names.UPSTREAM_CALLS_PREFIX}_{u}", d) for u, d in UPSTREAMS],
                ),
                graph(
                    "Upstream retries and failures",
                    [
                        *(self.custom(f"{names.UPSTREAM_RETRIES_PREFIX}_{u}", d) for u, d in UPSTREAMS),
                        *(self.custom(f"{names.UPSTREAM_FAILURES_PREFIX}_{u}", d) for u, d in UPSTREAMS),
                    ],
                ),
            ],
            [
                graph(
                    "Session outcomes per hour",
                    [
                        self.sum_over_functions(names.SESSIONS_COMPLETED, Duration.hours(1)),
                        self.sum_over_functions(names.SESSIONS_FAILED, Duration.hours(1)),
                    ],
                ),
                graph(
                    "Oldest message per stage queue (s)",
                    [s.queue.metric_approximate_age_of_oldest_message(period=PERIOD) for s in stages],
                ),
            ],
        ]
        return cloudwatch.Dashboard(self, "Dashboard", widgets=widgets)


def _graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics, width=12, height=6)


def _camel(directory: str) -> str:
    return "".join(part.capitalize() for part in directory.split("_"))
