"""Synthesize the CDK app in-process and deploy its template into moto.

What runs locally is what `cdk deploy` would create: the same template, the same
resolved environment variables, the same event source mappings. This module
bootstraps moto like `cdk bootstrap`, publishes the file assets to moto S3, creates
the stack through moto CloudFormation and describes the result as a DeployedStack.
"""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import time
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from local.template import ApiRoute, StackTemplate

if TYPE_CHECKING:  # worker processes import this module; keep moto out of them
    from local.moto_aws import MotoAws

BOOTSTRAP_QUALIFIER = "hnb659fds"  # the CDK default synthesizer's qualifier
BOOTSTRAP_VERSION = "21"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class DeployError(RuntimeError):
    """The stack did not reach CREATE_COMPLETE; the message names the failing resources."""


@dataclass(frozen=True)
class DeployedFunction:
    logical_id: str
    name: str
    arn: str
    handler: str  # "module.attribute", as Lambda reads it
    runtime: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, str]
    code_dir: Path  # the cdk.out asset directory of Code.S3Key (Lambda's /var/task)
    layer_dirs: tuple[Path, ...]  # <asset>/python of each layer that has one (/opt/python)
    construct_path: str  # aws:cdk:path metadata, e.g. "Stack/QueryActivities/Function/Resource"
    # requirements.txt of each layer left unbundled (its packages come from this interpreter)
    layer_requirements: tuple[Path, ...] = ()


@dataclass(frozen=True)
class DeployedMapping:
    """One event source mapping, as moto lists it, completed from the template."""

    uuid: str
    function_logical_id: str
    function_name: str
    source_arn: str
    source_kind: str  # "sqs" | "dynamodb"
    batch_size: int
    function_response_types: tuple[str, ...]
    max_concurrency: int | None  # SQS ScalingConfig.MaximumConcurrency
    starting_position: str | None  # streams: TRIM_HORIZON | LATEST
    bisect_on_error: bool
    max_retry_attempts: int | None  # streams; None = retry until the record expires
    on_failure_arn: str | None
    queue_url: str | None  # SQS sources

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


@dataclass(frozen=True)
class DeployedSchedule:
    rule_name: str
    rule_arn: str
    expression: str
    rate_s: int | None  # None for cron() expressions
    function_logical_id: str


@dataclass(frozen=True)
class DeployedApi:
    rest_api_id: str
    stage: str
    function_logical_id: str
    routes: tuple[ApiRoute, ...]


@dataclass(frozen=True)
class DeployedStack:
    name: str
    assembly_dir: Path
    functions: Mapping[str, DeployedFunction]  # by logical id
    mappings: tuple[DeployedMapping, ...]
    schedules: tuple[DeployedSchedule, ...]
    api: DeployedApi | None
    tables: Mapping[str, str]  # logical id -> table name
    queues: Mapping[str, str]  # logical id -> queue URL
    outputs: Mapping[str, str]

    def function_by_name(self, name: str) -> DeployedFunction:
        for function in self.functions.values():
            if function.name == name or function.arn == name:
                return function
        raise KeyError(name)

    def function_at(self, construct_path_fragment: str) -> DeployedFunction:
        """The one function whose CDK construct path contains the fragment
        (e.g. "QueryActivities"), case-insensitively."""
        wanted = construct_path_fragment.lower()
        matches = [f for f in self.functions.values() if wanted in f.construct_path.lower()]
        if len(matches) != 1:
            raise KeyError(f"{construct_path_fragment!r} matches {[f.construct_path for f in matches]}")
        return matches[0]


# ---------------------------------------------------------------- synthesis


def silence_node_banners() -> None:
    """Keep jsii's Node.js banners out of what the CLI prints. jsii (started by the
    first `import aws_cdk`) warns when Node is end-of-life, unless the running major
    version is listed in JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION, or deprecated,
    unless JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION is set; its stderr sink then
    prints each banner line as a raw byte string (b'!!  Node 20 is end-of-life...')."""
    key = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
    silenced = [v.strip() for v in os.environ.get(key, "").split(",") if v.strip()]
    major = _node_major(os.environ.get("JSII_NODE", "node"))
    if major and major not in silenced:
        os.environ[key] = ",".join([*silenced, major])
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def _node_major(node: str) -> str | None:
    """"20" for Node v20.20.2 (the binary jsii runs); None if it cannot be asked."""
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None  # jsii will report a missing Node itself
    return version.strip().lstrip("v").split(".")[0] or None


def synthesize(build: Callable[[Any], object], outdir: Path, context: Mapping[str, Any]) -> Path:
    """Build a CDK app in this process and synthesize it into `outdir`.

    `build(app)` adds the stacks. Bundling is switched off (no Docker, no pip at
    synth): the dependency layer's packages come from this interpreter instead."""
    silence_node_banners()
    import aws_cdk as cdk

    full_context = {
        "aws:cdk:bundling-stacks": [],
        # What the CDK CLI turns on: construct paths in the template's metadata,
        # which DeployedStack.function_at() reads.
        "aws:cdk:enable-path-metadata": True,
        **dict(context),
    }
    app = cdk.App(outdir=str(outdir), context=full_context)
    build(app)
    app.synth()
    return outdir


def stack_names(assembly_dir: Path) -> list[str]:
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    return [
        name
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]


# ---------------------------------------------------------------- deployment


def bootstrap(aws: MotoAws) -> str:
    """What `cdk bootstrap` leaves behind that a synthesized template reads."""
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{aws.account_id}-{aws.region}"
    aws.client("s3").create_bucket(Bucket=bucket)
    aws.client("ssm").put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version",
        Value=BOOTSTRAP_VERSION,
        Type="String",
        Overwrite=True,
    )
    return bucket


def publish_assets(aws: MotoAws, assembly_dir: Path, stack_name: str) -> int:
    """Upload every file asset of the stack (directories zipped as CDK does)."""
    manifest = json.loads((assembly_dir / f"{stack_name}.assets.json").read_text())
    s3 = aws.client("s3")
    published = 0
    for asset in manifest.get("files", {}).values():
        source = assembly_dir / asset["source"]["path"]
        body = _zip_dir(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for destination in asset["destinations"].values():
            bucket = _substitute(destination["bucketName"], aws)
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)
            published += 1
    return published


def deploy(aws: MotoAws, assembly_dir: Path, stack_name: str, timeout_s: float = 120) -> DeployedStack:
    """Bootstrap, publish assets, create the stack and wait for CREATE_COMPLETE."""
    _quiet_moto_cloudformation()
    bootstrap(aws)
    publish_assets(aws, assembly_dir, stack_name)
    template_body = (assembly_dir / f"{stack_name}.template.json").read_text()
    cloudformation = aws.client("cloudformation")
    try:
        cloudformation.create_stack(StackName=stack_name, TemplateBody=template_body, Capabilities=CAPABILITIES)
    except (BotoCoreError, ClientError, ResponseParserError) as error:
        # moto creates resources inside the CreateStack call: a resource it cannot
        # create fails the call itself (its error body is not always valid XML).
        raise DeployError(f"stack {stack_name}: CreateStack failed: {error}") from error
    stack = _wait_for_stack(cloudformation, stack_name, timeout_s)
    # The engine is the only poller: moto must not consume messages or stream
    # records for the mappings it has just created.
    aws.detach_builtin_pollers()
    return describe_stack(aws, assembly_dir, stack_name, StackTemplate(json.loads(template_body)), stack)


def _wait_for_stack(cloudformation: Any, stack_name: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("_IN_PROGRESS"):
            raise DeployError(f"stack {stack_name} ended {status}: {_failure_reasons(cloudformation, stack_name)}")
        if time.monotonic() > deadline:
            raise DeployError(f"stack {stack_name} still {status} after {timeout_s:.0f} s")
        time.sleep(0.2)


def _failure_reasons(cloudformation: Any, stack_name: str) -> str:
    events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    failed = [
        f"{event.get('LogicalResourceId')} ({event.get('ResourceType')}): {event.get('ResourceStatusReason')}"
        for event in events
        if str(event.get("ResourceStatus", "")).endswith("FAILED")
    ]
    return "; ".join(failed) or "no resource reported a reason"


# ---------------------------------------------------------------- description


def describe_stack(
    aws: MotoAws, assembly_dir: Path, stack_name: str, template: StackTemplate, stack: Mapping[str, Any]
) -> DeployedStack:
    physical = _physical_ids(aws, stack_name)
    assets = _asset_dirs(assembly_dir, stack_name)
    functions = {
        logical_id: _describe_function(aws, template, logical_id, physical[logical_id], assets)
        for logical_id in template.logical_ids("AWS::Lambda::Function")
    }
    by_arn = {function.arn: function for function in functions.values()}
    queues = {logical_id: physical[logical_id] for logical_id in template.logical_ids("AWS::SQS::Queue")}
    mappings = tuple(
        _describe_mapping(aws, mapping, by_arn, queues)
        for mapping in _paginate(aws.client("lambda"), "list_event_source_mappings", "EventSourceMappings")
        if mapping["FunctionArn"] in by_arn
    )
    return DeployedStack(
        name=stack_name,
        assembly_dir=assembly_dir,
        functions=functions,
        mappings=mappings,
        schedules=_describe_schedules(aws, template, physical),
        api=_describe_api(template, physical),
        tables={logical_id: physical[logical_id] for logical_id in template.logical_ids("AWS::DynamoDB::Table")},
        queues=queues,
        outputs={output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])},
    )


def _describe_function(
    aws: MotoAws, template: StackTemplate, logical_id: str, name: str, assets: Mapping[str, Path]
) -> DeployedFunction:
    config = aws.client("lambda").get_function_configuration(FunctionName=name)
    properties = template.properties(logical_id)
    layer_dirs, layer_requirements = [], []
    for layer_logical_id in template.referenced_logical_ids(properties.get("Layers", [])):
        layer_asset = assets.get(_asset_hash(template.properties(layer_logical_id).get("Content", {})))
        # Lambda puts /opt/python on sys.path; an unbundled layer (the dependency
        # layer in this mode) has none, and this interpreter's packages stand in.
        if layer_asset is not None and (layer_asset / "python").is_dir():
            layer_dirs.append(layer_asset / "python")
        elif layer_asset is not None and (layer_asset / "requirements.txt").is_file():
            layer_requirements.append(layer_asset / "requirements.txt")
    return DeployedFunction(
        logical_id=logical_id,
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        handler=config["Handler"],
        runtime=config.get("Runtime", ""),
        timeout_s=int(config.get("Timeout", 3)),
        memory_mb=int(config.get("MemorySize", 128)),
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        code_dir=assets[_asset_hash(properties.get("Code", {}))],
        layer_dirs=tuple(layer_dirs),
        construct_path=template.construct_path(logical_id),
        layer_requirements=tuple(layer_requirements),
    )


def _describe_mapping(
    aws: MotoAws,
    mapping: Mapping[str, Any],
    functions_by_arn: Mapping[str, DeployedFunction],
    queues: Mapping[str, str],
) -> DeployedMapping:
    source_arn = mapping["EventSourceArn"]
    kind = "sqs" if source_arn.startswith("arn:aws:sqs:") else "dynamodb"
    queue_url = None
    if kind == "sqs":
        # The URL CloudFormation reports is the one the functions' environment holds.
        queue_name = source_arn.rsplit(":", 1)[1]
        queue_url = next((url for url in queues.values() if url.rsplit("/", 1)[1] == queue_name), None)
        queue_url = queue_url or aws.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
    retries = mapping.get("MaximumRetryAttempts")
    function = functions_by_arn[mapping["FunctionArn"]]
    return DeployedMapping(
        uuid=mapping["UUID"],
        function_logical_id=function.logical_id,
        function_name=function.name,
        source_arn=source_arn,
        source_kind=kind,
        batch_size=int(mapping.get("BatchSize", 10 if kind == "sqs" else 100)),
        function_response_types=tuple(mapping.get("FunctionResponseTypes", [])),
        max_concurrency=mapping.get("ScalingConfig", {}).get("MaximumConcurrency"),
        starting_position=mapping.get("StartingPosition"),
        bisect_on_error=bool(mapping.get("BisectBatchOnFunctionError", False)),
        max_retry_attempts=None if retries in (None, -1) else int(retries),
        on_failure_arn=mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
        queue_url=queue_url,
    )


def _describe_schedules(
    aws: MotoAws, template: StackTemplate, physical: Mapping[str, str]
) -> tuple[DeployedSchedule, ...]:
    schedules = []
    for logical_id in template.logical_ids("AWS::Events::Rule"):
        properties = template.properties(logical_id)
        expression = properties.get("ScheduleExpression")
        if not expression:
            continue  # event-pattern rules have no schedule to emulate
        rule = aws.client("events").describe_rule(Name=physical[logical_id])
        for target in properties.get("Targets", []):
            function_logical_id = template.get_att_logical_id(target.get("Arn"))
            if function_logical_id and template.type_of(function_logical_id) == "AWS::Lambda::Function":
                schedules.append(
                    DeployedSchedule(
                        rule_name=rule["Name"],
                        rule_arn=rule["Arn"],
                        expression=expression,
                        rate_s=parse_rate_seconds(expression),
                        function_logical_id=function_logical_id,
                    )
                )
    return tuple(schedules)


def _describe_api(template: StackTemplate, physical: Mapping[str, str]) -> DeployedApi | None:
    rest_apis = template.logical_ids("AWS::ApiGateway::RestApi")
    if not rest_apis:
        return None
    routes, function_logical_id = template.api_routes(rest_apis[0])
    if function_logical_id is None:
        return None
    return DeployedApi(
        rest_api_id=physical.get(rest_apis[0], rest_apis[0]),
        stage=template.api_stage_name(),
        function_logical_id=function_logical_id,
        routes=routes,
    )


def parse_rate_seconds(expression: str) -> int | None:
    """`rate(5 minutes)` -> 300; cron() and anything else -> None."""
    if not expression.startswith("rate(") or not expression.endswith(")"):
        return None
    amount, unit = expression[5:-1].split()
    seconds = {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]
    return int(amount) * seconds


# ---------------------------------------------------------------- helpers


def _physical_ids(aws: MotoAws, stack_name: str) -> dict[str, str]:
    resources = aws.client("cloudformation").describe_stack_resources(StackName=stack_name)["StackResources"]
    return {
        resource["LogicalResourceId"]: resource["PhysicalResourceId"]
        for resource in resources
        if resource.get("LogicalResourceId") and resource.get("PhysicalResourceId")
    }


def _asset_dirs(assembly_dir: Path, stack_name: str) -> dict[str, Path]:
    manifest = json.loads((assembly_dir / f"{stack_name}.assets.json").read_text())
    return {
        asset_hash: assembly_dir / asset["source"]["path"]
        for asset_hash, asset in manifest.get("files", {}).items()
        if asset["source"].get("packaging") == "zip"
    }


def _asset_hash(code: Mapping[str, Any]) -> str:
    key = code.get("S3Key", "")
    return key.removesuffix(".zip") if isinstance(key, str) else ""


def _paginate(client: Any, operation: str, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate():
        items.extend(page.get(key, []))
    return items


def _zip_dir(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _substitute(value: str, aws: MotoAws) -> str:
    return (
        value.replace("${AWS::AccountId}", aws.account_id)
        .replace("${AWS::Region}", aws.region)
        .replace("${AWS::Partition}", "aws")
    )


# Types moto's CloudFormation skips with a warning each, harmless here: the local
# API server serves the API (Stage, Account), and moto enforces no resource
# policies (QueuePolicy, BucketPolicy). A warning about any other type still shows.
HARMLESS_SKIPPED_TYPES = (
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Account",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    # AWS-only operations: no alarms locally, the alarm topic's policy, and the
    # request validator (the local API server routes by itself).
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::TopicPolicy",
    "AWS::ApiGateway::RequestValidator",
)


class _SkippedApiGatewayResources(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.getMessage())
        return not (
            message.startswith("No Moto CloudFormation support for")
            and message.rsplit(" ", 1)[-1] in HARMLESS_SKIPPED_TYPES
        )


def _quiet_moto_cloudformation() -> None:
    moto_logger = logging.getLogger("moto")
    if not any(isinstance(f, _SkippedApiGatewayResources) for f in moto_logger.filters):
        moto_logger.addFilter(_SkippedApiGatewayResources())
    for resource_type in HARMLESS_SKIPPED_TYPES:
        warnings.filterwarnings("ignore", message=f"Tried to parse {resource_type} ", category=UserWarning)
