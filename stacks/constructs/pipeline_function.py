"""One pipeline Lambda function with the defaults every function shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from tvreport import env_keys

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
METRICS_NAMESPACE = "TvReport"


class PipelineFunction(Construct):
    """`lambdas/<directory>/handler.py` on Python 3.12 with both layers, X-Ray
    tracing, Powertools settings and its own log group.

    The log group is a plain `logs.LogGroup` passed as `log_group`: the function's
    `log_retention` prop would add a custom resource (not deployable into moto and
    one more Lambda to own)."""

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
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,  # the dependency layer's wheels
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
            },
        )
