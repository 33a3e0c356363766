"""The REST API: throttled, every route proxied to the api function."""

from __future__ import annotations

import json
from typing import Any

from stacks.config import PipelineConfig
from tests.infrastructure.template_queries import TemplateQueries, referenced_ids

ROUTES = {
    ("POST", "/sessions"),
    ("GET", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}"),
    ("POST", "/sessions/{id}/connect"),
    ("GET", "/sessions/{id}/report"),
    ("POST", "/sessions/{id}/cancel"),
    ("POST", "/uploads"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/"),
    ("GET", "/sessions/{id}/callback"),
}


def _path_of(queries: TemplateQueries, resource: Any, root_ids: set[str]) -> str:
    """Rebuild a method's path by walking AWS::ApiGateway::Resource parents."""
    parts = []
    while True:
        [rid] = referenced_ids(resource)
        if rid in root_ids:  # the RestApi's root resource
            return "/" + "/".join(reversed(parts))
        props = queries.props(rid)
        parts.append(props["PathPart"])
        resource = props["ParentId"]


def test_every_route_is_a_lambda_proxy_to_the_api_function(queries: TemplateQueries) -> None:
    [rest_api] = queries.of_type("AWS::ApiGateway::RestApi")
    api_function = queries.function_id("api")
    routes = set()
    for method in queries.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        integration = props["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert api_function in set(referenced_ids(integration["Uri"]))
        routes.add((props["HttpMethod"], _path_of(queries, props["ResourceId"], {rest_api})))
    assert routes == ROUTES


def test_the_stage_is_throttled_as_configured(queries: TemplateQueries, config: PipelineConfig) -> None:
    [stage] = queries.of_type("AWS::ApiGateway::Stage").values()
    [settings] = stage["Properties"]["MethodSettings"]

    assert (settings["HttpMethod"], settings["ResourcePath"]) == ("*", "/*")
    assert settings["ThrottlingRateLimit"] == config.api_rate_limit
    assert settings["ThrottlingBurstLimit"] == config.api_burst_limit
    assert settings["ThrottlingBurstLimit"] >= settings["ThrottlingRateLimit"]


def test_the_stage_writes_an_access_log_without_personal_fields(queries: TemplateQueries) -> None:
    [stage] = queries.of_type("AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    [group] = referenced_ids(setting["DestinationArn"])
    assert queries.resources[group]["Type"] == "AWS::Logs::LogGroup"
    assert queries.props(group)["RetentionInDays"] == 30
    fields = json.loads(setting["Format"])
    assert {"requestId", "status", "resource"} <= set(fields)
    values = " ".join(fields.values())
    # no caller IP, user agent or concrete path (which holds the session id)
    for personal in ("sourceIp", "userAgent", "$context.path", "caller", "user"):
        assert personal not in values


def test_the_only_role_beside_the_functions_is_api_gateways_logging_role(queries: TemplateQueries) -> None:
    [account] = queries.of_type("AWS::ApiGateway::Account").values()
    [role] = referenced_ids(account["Properties"]["CloudWatchRoleArn"])
    function_roles = {queries.role_id(d) for d in queries.function_ids()}
    assert set(queries.of_type("AWS::IAM::Role")) == function_roles | {role}


def test_every_method_goes_through_the_request_validator(queries: TemplateQueries) -> None:
    [validator_id] = queries.of_type("AWS::ApiGateway::RequestValidator")
    validator = queries.props(validator_id)
    assert validator["ValidateRequestBody"] is True and validator["ValidateRequestParameters"] is True
    for method in queries.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props["RequestValidatorId"] == {"Ref": validator_id}
        path = _path_of(queries, props["ResourceId"], set(queries.of_type("AWS::ApiGateway::RestApi")))
        if "{id}" in path:
            assert props["RequestParameters"] == {"method.request.path.id": True}


def test_api_gateway_may_invoke_only_the_api_function(queries: TemplateQueries) -> None:
    api_function = queries.function_id("api")
    invoked = {
        next(referenced_ids(p["Properties"]["FunctionName"]))
        for p in queries.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    assert invoked == {api_function}


def test_outputs_name_the_api_url_tables_bucket_and_secrets(queries: TemplateQueries) -> None:
    outputs = queries.template["Outputs"]
    assert {
        "ApiUrl",
        "SessionsTableName",
        "ViewingTableName",
        "ShowCacheTableName",
        "UploadsBucketName",
        "GandalfPrivateKeySecretName",
        "TmdbApiKeySecretName",
        "OpenAiApiKeySecretName",
    } <= set(outputs)
    for name in ("GandalfPrivateKeySecretName", "TmdbApiKeySecretName", "OpenAiApiKeySecretName"):
        assert "aws secretsmanager put-secret-value" in outputs[name]["Description"]


def test_by_default_no_cors_and_no_api_keys(queries: TemplateQueries) -> None:
    methods = queries.of_type("AWS::ApiGateway::Method").values()
    assert {m["Properties"]["HttpMethod"] for m in methods} <= {"GET", "POST", "DELETE"}  # no preflight mocks
    assert not any(m["Properties"].get("ApiKeyRequired") for m in methods)
    assert not queries.of_type("AWS::ApiGateway::UsagePlan") and not queries.of_type("AWS::ApiGateway::ApiKey")
    env = queries.props(queries.function_id("api"))["Environment"]["Variables"]
    assert env["API_ALLOWED_ORIGINS"] == ""
