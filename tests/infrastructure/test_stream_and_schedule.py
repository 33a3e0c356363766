"""The sessions stream -> progress_tracker mapping, and the watchdog schedule."""

from __future__ import annotations

from stacks.config import PipelineConfig
from tests.infrastructure.template_queries import TemplateQueries, referenced_ids


def _sessions_table(queries: TemplateQueries) -> str:
    [table] = [
        lid
        for lid, table in queries.of_type("AWS::DynamoDB::Table").items()
        if [k["AttributeName"] for k in table["Properties"]["KeySchema"]] == ["pk", "sk"]
    ]
    return table


def test_tracker_reads_the_sessions_stream_with_bounded_retries(
    queries: TemplateQueries, config: PipelineConfig
) -> None:
    [mapping] = queries.mappings_of("progress_tracker")

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [_sessions_table(queries), "StreamArn"]}
    # No record missed when the mapping is (re)created after writes.
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    # Not the default -1 (retry until the record expires, stalling the shard).
    assert 1 <= mapping["MaximumRetryAttempts"] <= 10
    assert mapping["MaximumRetryAttempts"] == config.stream_retry_attempts
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 7 * 24 * 3600
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == config.stream_batch_size


def test_stream_failures_go_to_an_encrypted_queue(queries: TemplateQueries) -> None:
    [mapping] = queries.mappings_of("progress_tracker")
    [failure_queue] = referenced_ids(mapping["DestinationConfig"]["OnFailure"]["Destination"])

    assert queries.resources[failure_queue]["Type"] == "AWS::SQS::Queue"
    assert queries.props(failure_queue)["SqsManagedSseEnabled"] is True
    # The event source grants the tracker the right to send the failure record.
    assert failure_queue in queries.granted_ids("progress_tracker", "sqs:SendMessage")


def test_watchdog_runs_on_the_configured_rate(queries: TemplateQueries, config: PipelineConfig) -> None:
    [rule] = queries.of_type("AWS::Events::Rule").values()
    watchdog = queries.function_id("watchdog")

    assert rule["Properties"]["ScheduleExpression"] == f"rate({config.watchdog_rate_minutes} minutes)"
    assert [target["Arn"] for target in rule["Properties"]["Targets"]] == [{"Fn::GetAtt": [watchdog, "Arn"]}]
    invoke_permissions = [
        p["Properties"]
        for p in queries.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert [p["FunctionName"] for p in invoke_permissions] == [{"Fn::GetAtt": [watchdog, "Arn"]}]
