"""The API resolver's routes (lambdas/api/handler.py `app`) and the gateway's methods in
the synthesized template are the same set: a route the gateway lacks is never reached,
and a gateway method the resolver lacks answers 404 from inside the function."""
from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.constructs.api import ROUTES
from tests.infrastructure.template_queries import TemplateQueries
from tests.infrastructure.test_settings_contract import _cold_start, _render

_PARAMETER = re.compile(r"<[^>]+>|\{[^}]+\}")  # <session_id> (Powertools), {id} (API Gateway)


def _shape(method: str, path: str) -> tuple[str, str]:
    return method, _PARAMETER.sub("{}", path)


def gateway_routes(template: dict[str, Any]) -> set[tuple[str, str]]:
    resources = template["Resources"]

    def path_of(resource: Any) -> str:
        if isinstance(resource, dict) and "Fn::GetAtt" in resource:  # the RestApi's root
            return ""
        props = resources[resource["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    return {
        _shape(props["HttpMethod"], path_of(props["ResourceId"]) or "/")
        for props in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Method")
        if props["HttpMethod"] != "OPTIONS"  # CORS preflights are answered by the gateway itself
    }


@pytest.fixture(scope="module")
def resolver_routes(queries: TemplateQueries) -> set[tuple[str, str]]:
    environment = {key: _render(value) for key, value in queries.environment("api").items()}
    with pytest.MonkeyPatch.context() as monkeypatch:
        _cold_start("api", environment, monkeypatch)
        from tests.support.handlers import load_handler

        app = load_handler("api").app
    return {_shape(route.method, route.path) for route in app._static_routes + app._dynamic_routes}


def test_every_resolver_route_is_a_gateway_method_and_back(
    resolver_routes: set[tuple[str, str]], queries: TemplateQueries
) -> None:
    gateway = gateway_routes(queries.template)
    assert resolver_routes - gateway == set(), "routes the gateway never forwards"
    assert gateway - resolver_routes == set(), "gateway methods the resolver does not serve"
    assert len(gateway) == len(ROUTES)


def test_a_route_missing_from_the_gateway_is_found(
    resolver_routes: set[tuple[str, str]], queries: TemplateQueries
) -> None:
    gateway = gateway_routes(queries.template) - {_shape("POST", "/sessions/{id}/cancel")}
    assert resolver_routes - gateway == {("POST", "/sessions/{}/cancel")}
