"""Alarms into one SNS topic and the operator's dashboard (issue 10 §3): each
alarm's metric, statistic, threshold, comparison and action."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import PipelineConfig
from tests.infrastructure.template_queries import TemplateQueries, referenced_ids
from tests.infrastructure.test_iam import FUNCTIONS
from tvreport import observability
from tvreport.schema import STAGES as REGISTRY

STAGES = tuple(spec.folder for spec in REGISTRY.values())  # every stage queue is alarmed
AT_LEAST = "GreaterThanOrEqualToThreshold"
ABOVE = "GreaterThanThreshold"


def camel(directory: str) -> str:
    return "".join(part.capitalize() for part in directory.split("_"))


def alarm(queries: TemplateQueries, name: str) -> dict[str, Any]:
    [found] = [
        r["Properties"]
        for lid, r in queries.of_type("AWS::CloudWatch::Alarm").items()
        if re.fullmatch(f"Monitoring{name}[0-9A-F]{{8}}", lid)  # construct path + CDK's hash
    ]
    return found


@pytest.fixture(scope="module")
def topic(queries: TemplateQueries) -> str:
    [topic_id] = queries.of_type("AWS::SNS::Topic")
    return topic_id


def assert_simple(props: dict, *, metric: str, namespace: str, statistic: str, threshold: float,
                  comparison: str, topic: str, period: int) -> None:
    assert (props["MetricName"], props["Namespace"], props["Statistic"]) == (metric, namespace, statistic)
    assert (props["Threshold"], props["ComparisonOperator"], props["Period"]) == (threshold, comparison, period)
    assert props["EvaluationPeriods"] == 1
    assert props["TreatMissingData"] == "notBreaching"
    assert props["AlarmActions"] == [{"Ref": topic}]


def dimension(props: dict, name: str) -> Any:
    [value] = [d["Value"] for d in props["Dimensions"] if d["Name"] == name]
    return value


def test_one_topic_that_refuses_plain_http_and_lets_cloudwatch_publish(queries: TemplateQueries, topic: str) -> None:
    [policy] = queries.of_type("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert not queries.of_type("AWS::SNS::Subscription")  # email is a deploy option, off by default


@pytest.mark.parametrize("directory", STAGES)
def test_any_dead_letter_alarms(queries: TemplateQueries, topic: str, directory: str) -> None:
    props = alarm(queries, f"{camel(directory)}DeadLetters")
    assert_simple(props, metric="ApproximateNumberOfMessagesVisible", namespace="AWS/SQS", statistic="Maximum",
                  threshold=1, comparison=AT_LEAST, topic=topic, period=60)
    queue = queries.queue_feeding(directory)
    assert set(referenced_ids(dimension(props, "QueueName"))) == {queries.dead_letter_queue_of(queue)}


def test_a_failed_stream_batch_alarms(queries: TemplateQueries, topic: str) -> None:
    props = alarm(queries, "StreamFailures")
    assert_simple(props, metric="ApproximateNumberOfMessagesVisible", namespace="AWS/SQS", statistic="Maximum",
                  threshold=1, comparison=AT_LEAST, topic=topic, period=60)
    [mapping] = [m for m in queries.mappings_of("progress_tracker") if "DestinationConfig" in m]
    on_failure = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert set(referenced_ids(dimension(props, "QueueName"))) == set(referenced_ids(on_failure))


@pytest.mark.parametrize("directory", STAGES)
def test_an_old_stage_message_alarms(queries: TemplateQueries, topic: str, config: PipelineConfig,
                                     directory: str) -> None:
    props = alarm(queries, f"{camel(directory)}OldestMessage")
    assert_simple(props, metric="ApproximateAgeOfOldestMessage", namespace="AWS/SQS", statistic="Maximum",
                  threshold=config.queue_age_alarm_seconds, comparison=ABOVE, topic=topic, period=300)
    assert set(referenced_ids(dimension(props, "QueueName"))) == {queries.queue_feeding(directory)}
    # It fires before the watchdog would fail the sessions waiting behind the message.
    assert config.queue_age_alarm_seconds < config.stall_timeout_seconds


def test_the_tracker_falling_behind_its_stream_alarms(queries: TemplateQueries, topic: str,
                                                      config: PipelineConfig) -> None:
    props = alarm(queries, "TrackerIteratorAge")
    assert_simple(props, metric="IteratorAge", namespace="AWS/Lambda", statistic="Maximum",
                  threshold=config.stream_iterator_age_alarm_seconds * 1000, comparison=ABOVE, topic=topic,
                  period=300)
    assert dimension(props, "FunctionName") == {"Ref": queries.function_id("progress_tracker")}


@pytest.mark.parametrize("directory", FUNCTIONS)
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_errors_and_throttles_alarm_per_function(queries: TemplateQueries, topic: str, directory: str,
                                                 metric: str) -> None:
    props = alarm(queries, f"{camel(directory)}{metric}")
    assert_simple(props, metric=metric, namespace="AWS/Lambda", statistic="Sum", threshold=1,
                  comparison=AT_LEAST, topic=topic, period=300)
    assert dimension(props, "FunctionName") == {"Ref": queries.function_id(directory)}


def math_alarm(props: dict) -> tuple[str, dict[str, dict]]:
    [expression] = [m for m in props["Metrics"] if "Expression" in m]
    stats = {m["Id"]: m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m}
    return expression["Expression"], stats


@pytest.mark.parametrize(
    ("name", "metric", "period", "comparison"),
    [
        ("UpstreamAuthFailures", observability.UPSTREAM_AUTH_FAILURES, 300, AT_LEAST),
        ("FailedSessions", observability.SESSIONS_FAILED, 3600, ABOVE),
    ],
)
def test_layer_metrics_summed_over_every_function_alarm(queries: TemplateQueries, topic: str,
                                                        config: PipelineConfig, name: str, metric: str,
                                                        period: int, comparison: str) -> None:
    props = alarm(queries, name)
    expression, stats = math_alarm(props)
    assert expression == f"SUM([{', '.join(sorted(stats))}])"
    services = set()
    for stat in stats.values():
        assert (stat["Metric"]["MetricName"], stat["Metric"]["Namespace"]) == (metric, "TvReport")
        assert (stat["Stat"], stat["Period"]) == ("Sum", period)
        [dim] = stat["Metric"]["Dimensions"]
        assert dim["Name"] == "service"  # Powertools' dimension: the emitting function
        services.add(dim["Value"])
    assert services == set(FUNCTIONS)
    threshold = 1 if name == "UpstreamAuthFailures" else config.failed_sessions_alarm_per_hour
    assert (props["Threshold"], props["ComparisonOperator"]) == (threshold, comparison)
    assert props["AlarmActions"] == [{"Ref": topic}] and props["TreatMissingData"] == "notBreaching"


def test_every_alarm_goes_to_the_topic(queries: TemplateQueries, topic: str) -> None:
    alarms = queries.of_type("AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 2 * len(STAGES) + 1 + 1 + 2 * len(FUNCTIONS) + 2
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": topic}] for a in alarms)


def test_the_dashboard_shows_throughput_failures_upstreams_and_outcomes(queries: TemplateQueries) -> None:
    [dashboard] = queries.of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    text = body if isinstance(body, str) else "".join(p if isinstance(p, str) else "<ref>" for p in body["Fn::Join"][1])
    for title in ("Invocations per function", "Chunks done per stage", "Errors per function", "Dead letters",
                  "Upstream calls", "Upstream retries and failures", "Session outcomes per hour",
                  "Oldest message per stage queue"):
        assert title in text
    for metric in (observability.SESSIONS_COMPLETED, observability.SESSIONS_FAILED, observability.CHUNKS_DONE,
                   "UpstreamCalls_tmdb", "UpstreamRetries_rottentomatoes", "UpstreamFailures_gandalf"):
        assert f'"{metric}"' in text


def test_an_alarm_email_is_a_deploy_option() -> None:
    """Off by default (above); with an address, one email subscription to the topic."""
    from aws_cdk import App, Stack, aws_lambda as lambda_, aws_sqs as sqs
    from aws_cdk.assertions import Template

    from stacks.constructs.monitoring import Monitoring, StageQueues

    stack = Stack(App(), "Probe")
    function = lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_14, handler="h.h",
                                code=lambda_.Code.from_inline("def h(e, c): pass"))
    queue, dlq, failures = (sqs.Queue(stack, name) for name in ("Q", "Dlq", "Failures"))
    Monitoring(stack, "Monitoring", functions={"tracker": function}, stages=[StageQueues("stage", queue, dlq)],
               stream_failure_queue=failures, stream_consumer="tracker", alarm_email="ops@example.com",
               queue_age_alarm_seconds=900, stream_iterator_age_alarm_seconds=60, failed_sessions_alarm_per_hour=3)
    template = Template.from_stack(stack).to_json()
    [subscription] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")


@pytest.mark.parametrize(("key", "value"), [("alarm_email", "not-an-address"), ("queue_age_alarm_seconds", 10),
                                            ("failed_sessions_alarm_per_hour", 0)])
def test_bad_alarm_options_stop_the_synth(key: str, value: object) -> None:
    from tvreport.settings import ConfigError

    with pytest.raises(ConfigError, match=key):
        PipelineConfig(**{key: value})
