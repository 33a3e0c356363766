"""One pipeline Lambda function with the defaults every function shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, aws_iam as iam, aws_lambda as lambda_, aws_logs as logs
from constructs import Construct

from stacks.layers import ARCHITECTURE, RUNTIME
from stacks.needs import NEEDS
from tvreport import env_keys

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
METRICS_NAMESPACE = "TvReport"

# X-Ray keeps traces 30 days where DELETE /sessions cannot reach: no handler's
# response (session documents, reports) and no exception (messages can quote
# input, e.g. pydantic's input_value) is attached to a trace. Errors still show
# as faults on the segment and in the function's logs and Errors metric.
TRACER_SETTINGS = {"POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false", "POWERTOOLS_TRACER_CAPTURE_ERROR": "false"}
# pydantic looks for plugins (an entry-point scan of every installed distribution) when it
# builds its first model; we use none, so no function pays for the scan at cold start.
PYDANTIC_SETTINGS = {env_keys.PYDANTIC_DISABLE_PLUGINS: "__all__"}


def sdk_traced(directory: str) -> bool:
    """Every function keeps Lambda active tracing: the service's own segments
    (initialization, invocation) and the trace header botocore forwards to SQS need no
    SDK. The X-Ray SDK (Powertools Tracer: a subsegment per record and per AWS call)
    costs about 0.1x of the import floor at every cold start, so only the functions that
    call an outside service load it: their invocations run for seconds and make dozens
    of store and queue calls, where the subsegments show where the time went. The API,
    the tracker, the watchdog and the dead letters make a few calls in short
    invocations, where the cold start is most of the latency (docs/architecture.md)."""
    return NEEDS[directory].upstream is not None


class PipelineFunction(Construct):
    """`lambdas/<directory>/handler.py` on the newest Python runtime with both
    layers, X-Ray tracing, Powertools settings and its own log group.

    The log group is a plain `logs.LogGroup` passed as `log_group`: the function's
    `log_retention` prop would add a custom resource (not deployable into moto and
    one more Lambda to own). The role is the function's own, without the AWS
    managed AWSLambdaBasicExecutionRole (logs:* on every log group): it may write
    to this log group only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        directory: str,
        timeout_seconds: int,
        memory_mb: int,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention,
            # Logs are diagnostics; nothing personal is logged (no dataKey, no keys).
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"lambdas/{directory}: the grants of docs/architecture.md's function table",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            role=self.role,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,  # the dependency layers' wheels
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(LAMBDAS_DIR / directory), exclude=["**/__pycache__", "**/*.pyc"]),
            layers=list(layers),
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={
                **environment,
                env_keys.POWERTOOLS_SERVICE_NAME: directory,
                env_keys.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
                **TRACER_SETTINGS,
                **PYDANTIC_SETTINGS,
                env_keys.POWERTOOLS_TRACE_DISABLED: "false" if sdk_traced(directory) else "true",
            },
        )
