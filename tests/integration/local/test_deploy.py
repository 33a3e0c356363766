"""The small app's template, deployed into moto, described as a DeployedStack."""
from __future__ import annotations

import json

import pytest

from local.deploy import DeployError, deploy, parse_rate_seconds
from local.engine import mapping_label

from .conftest import SmallDeployment
from .small_app import MAX_RECEIVE_COUNT, SQS_TIMEOUT_S


def test_functions_carry_handler_sizes_environment_and_asset_dirs(small_deployment: SmallDeployment) -> None:
    stack = small_deployment.stack
    queue_fn = stack.function_at("QueueFn")

    assert queue_fn.handler == "handler.handler"
    assert queue_fn.timeout_s == SQS_TIMEOUT_S
    assert queue_fn.memory_mb == 256
    assert queue_fn.environment["RECORD_DIR"] == str(small_deployment.record_dir)
    # the code dir is the staged cdk.out copy of the handler directory
    assert queue_fn.code_dir.parent == stack.assembly_dir
    assert (queue_fn.code_dir / "handler.py").read_text() == (
        small_deployment.handler_dirs["queue_fn"] / "handler.py"
    ).read_text()
    assert [path.name for path in queue_fn.layer_dirs] == ["python"]
    assert (queue_fn.layer_dirs[0] / "recorder.py").is_file()
    assert len(stack.functions) == 3


def test_sqs_mapping_matches_the_template(small_deployment: SmallDeployment) -> None:
    stack = small_deployment.stack
    (mapping,) = [m for m in stack.mappings if m.source_kind == "sqs"]

    assert mapping.function_logical_id == stack.function_at("QueueFn").logical_id
    assert mapping.batch_size == 5
    assert mapping.reports_batch_item_failures
    assert mapping.max_concurrency == 2
    assert mapping.queue_url in stack.queues.values()
    assert mapping_label(mapping).startswith(f"{mapping.function_logical_id}<-{small_deployment.stack.name}-Work")

    sqs = small_deployment.aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == str(6 * SQS_TIMEOUT_S)
    assert f'"maxReceiveCount":{MAX_RECEIVE_COUNT}' in attributes["RedrivePolicy"].replace(" ", "")


def test_stream_mapping_has_retry_policy_and_on_failure_queue(small_deployment: SmallDeployment) -> None:
    stack = small_deployment.stack
    (mapping,) = [m for m in stack.mappings if m.source_kind == "dynamodb"]

    assert mapping.function_logical_id == stack.function_at("StreamFn").logical_id
    assert ":table/" in mapping.source_arn and "/stream/" in mapping.source_arn
    assert mapping.starting_position == "TRIM_HORIZON"
    assert mapping.bisect_on_error is True
    assert mapping.max_retry_attempts == 1
    assert mapping.on_failure_arn is not None and "StreamFailures" in mapping.on_failure_arn
    assert mapping.queue_url is None


def test_schedule_api_tables_and_outputs(small_deployment: SmallDeployment) -> None:
    stack = small_deployment.stack
    (schedule,) = stack.schedules
    assert schedule.rate_s == 300
    assert schedule.function_logical_id == stack.function_at("StreamFn").logical_id

    assert stack.api is not None
    assert stack.api.function_logical_id == stack.function_at("ApiFn").logical_id
    routes = {route.path: route.methods for route in stack.api.routes}
    assert routes == {
        "/sessions": {"POST"},
        "/sessions/{id}": {"GET", "DELETE"},
        "/sessions/{id}/report": {"GET"},
    }
    assert stack.api.stage == "prod"

    (table_name,) = stack.tables.values()
    assert stack.outputs["TableName"] == table_name
    assert small_deployment.aws.client("dynamodb").describe_table(TableName=table_name)["Table"]["StreamSpecification"][
        "StreamViewType"
    ] == "NEW_AND_OLD_IMAGES"


def test_a_resource_moto_cannot_create_fails_the_deploy_with_its_reason(small_deployment: SmallDeployment, tmp_path) -> None:
    # A function whose code bucket does not exist: CreateStack itself fails in moto.
    (tmp_path / "Broken.assets.json").write_text(json.dumps({"version": "55.0.0", "files": {}}))
    (tmp_path / "Broken.template.json").write_text(json.dumps({"Resources": {"Fn": {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.12", "Handler": "handler.handler",
                       "Role": f"arn:aws:iam::{small_deployment.aws.account_id}:role/none",
                       "Code": {"S3Bucket": "no-such-bucket", "S3Key": "missing.zip"}},
    }}}))

    with pytest.raises(DeployError, match="(?s)Broken.*NoSuchBucket"):
        deploy(small_deployment.aws, tmp_path, "Broken", timeout_s=20)


def test_rate_expressions() -> None:
    assert parse_rate_seconds("rate(5 minutes)") == 300
    assert parse_rate_seconds("rate(1 hour)") == 3600
    assert parse_rate_seconds("rate(2 days)") == 172800
    assert parse_rate_seconds("cron(0 12 * * ? *)") is None
