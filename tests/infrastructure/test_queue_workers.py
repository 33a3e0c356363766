"""Every queue-fed stage: queue, DLQ redrive, visibility, encryption, mapping."""

from __future__ import annotations

import pytest

from stacks.config import PipelineConfig
from tests.infrastructure.template_queries import TemplateQueries, referenced_ids
from tvreport.schema import STAGES

# lambdas/<dir> of each queue worker -> the stage name dead_letters reports: every
# stage of the registry (coverage, so a registered stage without a queue, a DLQ or a
# dead-letter source fails here).
QUEUE_WORKERS = {spec.folder: spec.stage.value for spec in STAGES.values()}
FOURTEEN_DAYS = 14 * 24 * 3600


def test_the_config_lists_exactly_the_queue_workers(config: PipelineConfig) -> None:
    assert {spec.directory: spec.stage_name for spec in config.queue_stages} == QUEUE_WORKERS


@pytest.mark.parametrize("directory", sorted(QUEUE_WORKERS))
def test_stage_queue_redrives_to_its_own_dlq_with_the_configured_receive_count(
    queries: TemplateQueries, config: PipelineConfig, directory: str
) -> None:
    queue = queries.queue_feeding(directory)
    redrive = queries.props(queue)["RedrivePolicy"]

    assert redrive["maxReceiveCount"] == config.stage(directory).max_receive_count
    dlq = queries.dead_letter_queue_of(queue)
    assert queries.resources[dlq]["Type"] == "AWS::SQS::Queue"
    assert queries.props(dlq)["MessageRetentionPeriod"] == FOURTEEN_DAYS


def test_each_stage_has_a_dlq_of_its_own(queries: TemplateQueries) -> None:
    dlqs = [queries.dead_letter_queue_of(queries.queue_feeding(d)) for d in QUEUE_WORKERS]
    assert len(set(dlqs)) == len(QUEUE_WORKERS)


@pytest.mark.parametrize("directory", sorted(QUEUE_WORKERS))
def test_visibility_timeout_is_at_least_six_times_the_function_timeout(
    queries: TemplateQueries, directory: str
) -> None:
    visibility = queries.props(queries.queue_feeding(directory))["VisibilityTimeout"]
    assert visibility >= 6 * queries.function(directory)["Timeout"]


@pytest.mark.parametrize("directory", sorted(QUEUE_WORKERS))
def test_stage_mapping_reports_partial_failures_and_caps_concurrency(
    queries: TemplateQueries, config: PipelineConfig, directory: str
) -> None:
    queue = queries.queue_feeding(directory)
    [mapping] = queries.mappings_of(directory)
    spec = config.stage(directory)

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == spec.max_concurrency
    assert mapping["BatchSize"] == spec.batch_size


@pytest.mark.parametrize("directory", sorted(QUEUE_WORKERS))
def test_function_size_follows_the_stage_spec(queries: TemplateQueries, config: PipelineConfig, directory: str) -> None:
    spec = config.stage(directory)
    function = queries.function(directory)
    assert (function["Timeout"], function["MemorySize"]) == (spec.timeout_seconds, spec.memory_mb)


def test_every_queue_is_encrypted_and_refuses_plain_http(queries: TemplateQueries) -> None:
    queues = queries.of_type("AWS::SQS::Queue")
    assert len(queues) == 2 * len(QUEUE_WORKERS) + 1  # stage + DLQ each, stream on-failure
    for queue_id, queue in queues.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, queue_id
        denies_http = [
            s
            for s in queries.queue_policies(queue_id)
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies_http, f"{queue_id} accepts requests without TLS"


def test_every_queue_that_is_not_a_dead_letter_target_redrives(queries: TemplateQueries) -> None:
    queues = queries.of_type("AWS::SQS::Queue")
    dlqs = {queries.dead_letter_queue_of(q) for q in queues if "RedrivePolicy" in queues[q]["Properties"]}
    stream_failure = {
        rid
        for mapping in queries.mappings_of("progress_tracker")
        for rid in referenced_ids(mapping["DestinationConfig"]["OnFailure"]["Destination"])
    }
    without_redrive = {q for q, r in queues.items() if "RedrivePolicy" not in r["Properties"]}
    assert without_redrive == dlqs | stream_failure


def test_dead_letters_consumes_every_stage_dlq_with_partial_failures(queries: TemplateQueries) -> None:
    mappings = queries.mappings_of("dead_letters")
    consumed = {rid for m in mappings for rid in referenced_ids(m["EventSourceArn"])}
    expected = {queries.dead_letter_queue_of(queries.queue_feeding(d)) for d in QUEUE_WORKERS}

    assert consumed == expected
    for mapping in mappings:
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 1 <= mapping["BatchSize"] <= 10


def test_dead_letter_sources_maps_each_dlq_arn_to_its_stage_name(queries: TemplateQueries) -> None:
    raw = queries.environment("dead_letters")["DEAD_LETTER_SOURCES"]
    sources = queries.joined_json(raw)

    expected = {
        f"<{queries.dead_letter_queue_of(queries.queue_feeding(d))}.Arn>": stage for d, stage in QUEUE_WORKERS.items()
    }
    assert sources == expected


def test_every_consumed_queue_outlasts_six_times_its_consumers_timeout(queries: TemplateQueries) -> None:
    """Also the DLQs, which dead_letters consumes (found by cfn-lint E3505)."""
    timeouts = {lid: f["Properties"]["Timeout"] for lid, f in queries.of_type("AWS::Lambda::Function").items()}
    checked = 0
    for mapping in queries.of_type("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        [source] = referenced_ids(props["EventSourceArn"])
        if queries.resources[source]["Type"] != "AWS::SQS::Queue":
            continue
        [function] = referenced_ids(props["FunctionName"])
        assert queries.props(source)["VisibilityTimeout"] >= 6 * timeouts[function], source
        checked += 1
    assert checked == 2 * len(QUEUE_WORKERS)
