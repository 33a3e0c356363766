"""Whole-app properties: deployable without custom resources, into AWS or moto."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from aws_cdk.assertions import Template
from cfnlint.api import lint_all
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map

from app import STACK_NAME, build_app, project_context
from stacks.config import DEFAULT_FUNCTIONS
from stacks.layers import pip_install_command
from tests.conftest import SKIP_BUNDLING, Synthesized
from tests.infrastructure.template_queries import TemplateQueries
from tvreport.schema import STAGES

# Types moto's CloudFormation skips with a warning: harmless for the local run
# (TLS-only policies, the API stage served by the local runner instead).
# Alarms, the alarm topic's policy and the request validator are AWS-only too: the
# local runner raises no alarms and its API server routes by itself.
MOTO_SKIPPED = {
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Account",
    "AWS::ApiGateway::RequestValidator",
    "AWS::SNS::TopicPolicy",
    "AWS::CloudWatch::Alarm",
}
# Created only in AWS; the local variant (create_secrets=false) references them.
SECRET_TYPE = "AWS::SecretsManager::Secret"


def test_synth_runs_in_process_with_bundling_skipped(synthesized: Synthesized) -> None:
    """No `npx cdk synth` in tests: the app is built and synthesized in this
    process once per session; its wall time is printed, not asserted."""
    print(f"\nin-process build + synth of {STACK_NAME}: {synthesized.seconds:.1f} s")
    manifest = json.loads((synthesized.assembly_dir / f"{STACK_NAME}.assets.json").read_text())
    staged = [synthesized.assembly_dir / a["source"]["path"] for a in manifest["files"].values()]
    dependency_assets = [p for p in staged if (p / "requirements.txt").exists()]
    # Skipped bundling stages the source folder as is: no pip-installed python/.
    assert len(dependency_assets) == 3  # base, crawl, AI
    assert not any((asset / "python").exists() for asset in dependency_assets)
    assert synthesized.stack.stack_name == STACK_NAME


def test_no_custom_resources(queries: TemplateQueries) -> None:
    types = {r["Type"] for r in queries.resources.values()}
    assert not {t for t in types if t.startswith("Custom::")}
    assert "AWS::CloudFormation::CustomResource" not in types
    # log_retention and auto_delete_objects would each add a provider function.
    assert len(queries.of_type("AWS::Lambda::Function")) == len(STAGES) + len(DEFAULT_FUNCTIONS)


def test_every_resource_type_is_deployable_by_moto(queries: TemplateQueries) -> None:
    types = {r["Type"] for r in queries.resources.values()}
    unsupported = types - set(get_model_map()) - MOTO_SKIPPED - {SECRET_TYPE}
    assert unsupported == set()


def test_secrets_are_created_with_a_generated_placeholder(queries: TemplateQueries) -> None:
    secrets = queries.of_type(SECRET_TYPE)
    assert len(secrets) == 3
    for secret in secrets.values():
        assert secret["Properties"]["GenerateSecretString"]
        assert "SecretString" not in secret["Properties"]
        assert secret["Properties"]["Name"].startswith(f"{STACK_NAME}/")


def test_dependency_layer_is_built_for_the_lambda_runtime_without_docker() -> None:
    command = pip_install_command("requirements.txt", "/out/python")
    flags = " ".join(command)
    assert "--platform manylinux2014_aarch64" in flags  # arm64 (Graviton)
    assert "--only-binary=:all:" in command
    assert "--python-version 3.14" in flags  # the functions' runtime, python3.14
    assert "--implementation cp" in flags
    assert command[-2:] == ["--target", "/out/python"]


@pytest.fixture(scope="module")
def local_variant_template() -> dict:
    """The template the local runner deploys: the same app with create_secrets=false.
    A second synth, on purpose: it is a different template."""
    _, stack = build_app(project_context(create_secrets=False, **SKIP_BUNDLING))
    return Template.from_stack(stack).to_json()


# moto warns about each type it skips (MOTO_SKIPPED); that is expected here.
@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_local_variant_deploys_into_moto_cloudformation(local_variant_template: dict) -> None:
    region, account = "us-east-1", "123456789012"
    assert not TemplateQueries(local_variant_template).of_type(SECRET_TYPE)
    with mock_aws():
        _bootstrap(local_variant_template, region, account)
        cloudformation = boto3.client("cloudformation", region_name=region)
        cloudformation.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(local_variant_template),
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        functions = boto3.client("lambda", region_name=region).list_functions()["Functions"]
        mappings = boto3.client("lambda", region_name=region).list_event_source_mappings()["EventSourceMappings"]

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["GandalfPrivateKeySecretName"] == f"{STACK_NAME}/gandalf-private-key"
    assert len(functions) == len(STAGES) + len(DEFAULT_FUNCTIONS)  # every stage + api, tracker, dead_letters, watchdog
    assert len(mappings) == 2 * len(STAGES) + 1  # each stage queue, each DLQ -> dead_letters, the stream
    dead_letters = next(f for f in functions if "DeadLetters" in f["FunctionName"])
    sources = json.loads(dead_letters["Environment"]["Variables"]["DEAD_LETTER_SOURCES"])
    assert sorted(sources.values()) == sorted(stage.value for stage in STAGES)
    assert all(arn.startswith(f"arn:aws:sqs:{region}:{account}:") for arn in sources)


def _bootstrap(template: dict, region: str, account: str) -> None:
    """What `cdk bootstrap` and asset publishing leave behind, with stub code."""
    bucket = f"cdk-hnb659fds-assets-{account}-{region}"
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=bucket)
    code = _stub_zip()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for location in (props.get("Code"), props.get("Content")):
            if location and "S3Key" in location:
                s3.put_object(Bucket=bucket, Key=location["S3Key"], Body=code)
    boto3.client("ssm", region_name=region).put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String"
    )


def _stub_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def test_cfn_lint_finds_no_errors(queries: TemplateQueries) -> None:
    """cfn-lint (installed with moto[cloudformation]) knows service limits the
    CDK does not check at synth, e.g. a queue's visibility vs its consumer."""
    matches = lint_all(json.dumps(queries.template))
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
