"""The public REST API: throttled, access-logged, every route proxied to the `api`
function; CORS for configured origins and API keys with a usage plan, both deploy options."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, aws_apigateway as apigateway, aws_lambda as lambda_, aws_logs as logs
from constructs import Construct

# (method, path) pairs served by lambdas/api.
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/sessions"),
    ("GET", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}"),
    ("POST", "/sessions/{id}/connect"),
    ("GET", "/sessions/{id}/report"),
    ("POST", "/sessions/{id}/cancel"),
    ("POST", "/uploads"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/"),  # the web page
    ("GET", "/sessions/{id}/callback"),  # Gandalf Connect's redirect back
)
# Readable without a key even when keys are required: a client needs them to start, and
# a browser (the page, Gandalf's redirect back) cannot send the key header.
PUBLIC_ROUTES = frozenset({("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/"),
                           ("GET", "/sessions/{id}/callback")})
API_KEY_HEADER = "X-Api-Key"


@dataclass(frozen=True)
class ApiEdge:
    """CORS origins and API-key clients (PipelineConfig.allowed_origins / api_clients)."""

    allowed_origins: Sequence[str] = ()
    api_clients: Sequence[str] = ()
    key_rate_limit: int = 5
    key_burst_limit: int = 10
    key_quota_per_day: int = 10000


# One JSON line per request. No caller IP, no user agent and no concrete path
# (`resourcePath` is the template, `/sessions/{id}`): nothing personal, nothing
# DELETE would have to reach.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "time": "$context.requestTimeEpoch",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "error": "$context.error.messageString",
}


class PipelineApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        rate_limit: int,
        burst_limit: int,
        log_retention: logs.RetentionDays,
        edge: ApiEdge | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        edge = edge or ApiEdge()
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        # The gateway answers the preflight (OPTIONS) itself; the function adds the
        # CORS headers to real answers (Powertools CORSConfig, same origins).
        cors = apigateway.CorsOptions(
            allow_origins=list(edge.allowed_origins), allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Content-Type", API_KEY_HEADER], max_age=Duration.minutes(10),
        ) if edge.allowed_origins else None
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            description="TV report sessions",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # API Gateway writes access logs only once the account (per region) has
            # a CloudWatch role; this creates it (AWS::ApiGateway::Account, which
            # the local runner's moto skips harmlessly).
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name="v1",
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
                tracing_enabled=True,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
            default_cors_preflight_options=cors,
        )
        # Path parameters are checked by API Gateway; bodies are validated by the
        # function (pydantic), which answers 422 with the documented error shape,
        # so no gateway body model is declared (validating a body without a model
        # accepts any body).
        self.request_validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        # One proxy integration; no test-invoke permissions (half the Lambda
        # permissions, and the console's test button is not how this is used).
        integration = apigateway.LambdaIntegration(handler, proxy=True, allow_test_invoke=False)
        keys_required = bool(edge.api_clients)
        for method, path in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            parameters = {f"method.request.path.{name}": True for name in _path_parameters(path)}
            resource.add_method(
                method,
                integration,
                request_validator=self.request_validator,
                request_parameters=parameters or None,
                api_key_required=keys_required and (method, path) not in PUBLIC_ROUTES,
            )
        if keys_required:
            self._usage_plan(edge)

    def _usage_plan(self, edge: ApiEdge) -> None:
        """One usage plan, per-key rate, burst and daily quota; one key per client
        (values generated by API Gateway: `aws apigateway get-api-key --include-value`)."""
        plan = self.rest_api.add_usage_plan(
            "ClientPlan",
            throttle=apigateway.ThrottleSettings(rate_limit=edge.key_rate_limit, burst_limit=edge.key_burst_limit),
            quota=apigateway.QuotaSettings(limit=edge.key_quota_per_day, period=apigateway.Period.DAY),
        )
        plan.add_api_stage(stage=self.rest_api.deployment_stage)
        for client in edge.api_clients:
            plan.add_api_key(self.rest_api.add_api_key(f"Key{client}", api_key_name=f"tvreport-{client}"))


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
