"""The API's deploy options: CORS origins (gateway preflight + the function's headers)
and API keys in a usage plan with a per-client rate and quota."""

from __future__ import annotations

import pytest

from stacks.config import PipelineConfig
from tests.conftest import SKIP_BUNDLING
from tests.infrastructure.template_queries import TemplateQueries
from tvreport.settings import ConfigError

ORIGINS = "https://app.example.com,http://localhost:5173"


@pytest.fixture(scope="module")
def edge_queries() -> TemplateQueries:
    from aws_cdk.assertions import Template

    from app import build_app, project_context

    app, stack = build_app(project_context(
        **SKIP_BUNDLING, api_allowed_origins=ORIGINS, api_keys="web,partner",
        api_key_rate_limit="3", api_key_burst_limit="6", api_key_quota_per_day="500"))
    return TemplateQueries(Template.from_stack(stack).to_json())


def test_the_gateway_answers_preflights_for_the_configured_origins(edge_queries: TemplateQueries) -> None:
    options = [m["Properties"] for m in edge_queries.of_type("AWS::ApiGateway::Method").values()
               if m["Properties"]["HttpMethod"] == "OPTIONS"]
    assert options and all(o["Integration"]["Type"] == "MOCK" and not o.get("ApiKeyRequired") for o in options)
    headers = options[0]["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    assert "'https://app.example.com'" in headers["method.response.header.Access-Control-Allow-Origin"]
    assert "X-Api-Key" in headers["method.response.header.Access-Control-Allow-Headers"]
    env = edge_queries.props(edge_queries.function_id("api"))["Environment"]["Variables"]
    assert env["API_ALLOWED_ORIGINS"] == ORIGINS


def test_api_keys_are_required_except_for_the_documents_and_browser_routes(edge_queries: TemplateQueries) -> None:
    methods = [m["Properties"] for m in edge_queries.of_type("AWS::ApiGateway::Method").values()
               if m["Properties"]["HttpMethod"] != "OPTIONS"]
    keyed = [m for m in methods if m.get("ApiKeyRequired")]
    # GET /openapi.json, /docs, / (the page) and the Connect callback stay public: a
    # browser following a link or Gandalf's redirect cannot send X-Api-Key
    assert len(keyed) == len(methods) - 4


def test_one_usage_plan_with_the_per_client_rate_and_quota_and_one_key_per_client(
        edge_queries: TemplateQueries) -> None:
    [plan] = edge_queries.of_type("AWS::ApiGateway::UsagePlan").values()
    props = plan["Properties"]
    assert props["Throttle"] == {"RateLimit": 3, "BurstLimit": 6}
    assert props["Quota"] == {"Limit": 500, "Period": "DAY"}
    assert len(props["ApiStages"]) == 1
    keys = edge_queries.of_type("AWS::ApiGateway::ApiKey").values()
    assert sorted(k["Properties"]["Name"] for k in keys) == ["tvreport-partner", "tvreport-web"]
    assert len(edge_queries.of_type("AWS::ApiGateway::UsagePlanKey")) == 2


@pytest.mark.parametrize("options, message", [
    ({"api_allowed_origins": "https://app.example.com/"}, "not an origin"),
    ({"api_allowed_origins": "app.example.com"}, "not an origin"),
    ({"api_keys": "bad name"}, "not a client name"),
    ({"api_key_rate_limit": 10, "api_key_burst_limit": 5}, "api_key_burst_limit"),
])
def test_bad_edge_options_stop_synthesis_with_the_key_named(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PipelineConfig(**options)
