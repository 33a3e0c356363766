"""HTTP -> API Gateway REST proxy event -> the API function -> HTTP."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.api_gateway import ApiGatewayServer, match_route
from local.template import ApiRoute
from local.workers import FunctionWorker, WorkerSpec

from .conftest import SmallDeployment

ROUTES = (
    ApiRoute("/sessions", frozenset({"POST"})),
    ApiRoute("/sessions/{id}", frozenset({"GET", "DELETE"})),
    ApiRoute("/sessions/{id}/report", frozenset({"GET"})),
    ApiRoute("/sessions/latest", frozenset({"GET"})),
    ApiRoute("/files/{path+}", frozenset({"ANY"})),
)


@pytest.mark.parametrize(
    ("path", "resource", "params"),
    [
        ("/sessions", "/sessions", {}),
        ("/sessions/abc", "/sessions/{id}", {"id": "abc"}),
        ("/sessions/abc/report", "/sessions/{id}/report", {"id": "abc"}),
        ("/sessions/latest", "/sessions/latest", {}),  # a literal beats {id}
        ("/files/a/b/c.txt", "/files/{path+}", {"path": "a/b/c.txt"}),
    ],
)
def test_match_route_picks_the_most_specific_resource(path: str, resource: str, params: dict) -> None:
    matched = match_route(ROUTES, path)
    assert matched is not None
    assert (matched[0].path, matched[1]) == (resource, params)


@pytest.mark.parametrize("path", ["/", "/nope", "/sessions/a/b", "/files"])
def test_match_route_rejects_unknown_paths(path: str) -> None:
    assert match_route(ROUTES, path) is None


@pytest.fixture
def api_server(deployment: SmallDeployment) -> Iterator[ApiGatewayServer]:
    stack = deployment.stack
    assert stack.api is not None
    function = stack.functions[stack.api.function_logical_id]
    worker = FunctionWorker(WorkerSpec.for_function(function, deployment.aws.worker_env(), deployment.run_dir / "logs"))
    server = ApiGatewayServer(stack.api, [worker], deployment.aws.account_id).start()
    try:
        yield server
    finally:
        server.stop()


def test_request_becomes_a_rest_proxy_event_and_the_response_comes_back(
    deployment: SmallDeployment, api_server: ApiGatewayServer
) -> None:
    response = httpx.get(
        f"{api_server.url}/sessions/s-1/report",
        params=[("lang", "en"), ("tag", "a"), ("tag", "b")],
        headers={"X-Trace": "t1"},
        timeout=30,
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"path": "/sessions/s-1/report", "resource": "/sessions/{id}/report", "params": {"id": "s-1"}}
    (event,) = deployment.recorded("api")
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"lang": "en", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"lang": ["en"], "tag": ["a", "b"]}
    assert event["headers"]["X-Trace"] == "t1"
    assert event["multiValueHeaders"]["X-Trace"] == ["t1"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/sessions/{id}/report"
    assert context["stage"] == "prod"
    assert context["path"] == "/sessions/s-1/report"  # served at the root, as under a custom domain
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["apiId"] == deployment.stack.api.rest_api_id
    assert context["requestId"]


def test_post_body_is_passed_as_text(deployment: SmallDeployment, api_server: ApiGatewayServer) -> None:
    response = httpx.post(f"{api_server.url}/sessions", json={"dataKey": "k"}, timeout=30)

    assert response.status_code == 200
    (event,) = deployment.recorded("api")
    assert event["body"] == '{"dataKey":"k"}'
    assert event["pathParameters"] is None
    assert event["resource"] == "/sessions"


def test_unknown_resource_or_method_is_api_gateways_403(deployment: SmallDeployment, api_server: ApiGatewayServer) -> None:
    unknown_path = httpx.get(f"{api_server.url}/nothing", timeout=30)
    wrong_method = httpx.put(f"{api_server.url}/sessions/s-1", timeout=30)

    assert unknown_path.status_code == 403 == wrong_method.status_code
    assert unknown_path.json() == {"message": "Missing Authentication Token"}
    assert deployment.recorded("api") == []  # the function never ran


def test_redirects_html_and_binary_proxy_responses_pass_through() -> None:
    import base64

    from local.api_gateway import proxy_response

    redirect = proxy_response({"statusCode": 302, "headers": {"Location": "/sessions/x"}, "body": ""})
    assert (redirect.status_code, redirect.headers["Location"]) == (302, "/sessions/x")
    page = proxy_response({"statusCode": 200, "headers": {"Content-Type": "text/html"}, "body": "<html>é</html>"})
    assert page.headers["Content-Type"] == "text/html" and page.get_data() == "<html>é</html>".encode()
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    binary = proxy_response({"statusCode": 200, "isBase64Encoded": True, "headers": {"Content-Type": "image/png"},
                             "body": base64.b64encode(png).decode()})
    assert binary.get_data() == png
