"""The public REST API: throttled, access-logged, every route proxied to the `api`
function."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

# (method, path) pairs served by lambdas/api.
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/sessions"),
    ("GET", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}"),
    ("POST", "/sessions/{id}/connect"),
    ("GET", "/sessions/{id}/report"),
    ("GET", "/openapi.json"),
)

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
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
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
        for method, path in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            parameters = {f"method.request.path.{name}": True for name in _path_parameters(path)}
            resource.add_method(
                method,
                integration,
                request_validator=self.request_validator,
                request_parameters=parameters or None,
            )


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
