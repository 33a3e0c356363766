"""The public REST API: throttled, every route proxied to the `api` function."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# (method, path) pairs served by lambdas/api.
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/sessions"),
    ("GET", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}"),
    ("POST", "/sessions/{id}/connect"),
    ("GET", "/sessions/{id}/report"),
    ("GET", "/openapi.json"),
    ("GET", "/"),  # the web page
    ("GET", "/sessions/{id}/callback"),  # Gandalf Connect's redirect back
)


class PipelineApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        rate_limit: int,
        burst_limit: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            description="TV report sessions",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # No account-wide CloudWatch role: it is one more IAM role, it is
            # account state rather than this app's, and moto skips
            # AWS::ApiGateway::Account. Access logging can be added per stage.
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name="v1",
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
                tracing_enabled=True,
            ),
        )
        # One proxy integration; no test-invoke permissions (half the Lambda
        # permissions, and the console's test button is not how this is used).
        integration = apigateway.LambdaIntegration(handler, proxy=True, allow_test_invoke=False)
        for method, path in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            resource.add_method(method, integration)
