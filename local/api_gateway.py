"""The REST API on a loopback port: each HTTP request becomes the API Gateway
REST proxy event (payload v1) for the API function, matched against the
resource tree of the deployed template, and the function's proxy response
becomes the HTTP response.

Not emulated: throttling (429 from the stage's rate/burst limits), API keys,
authorizers, request validation, binary media types (a body that is not UTF-8 is
passed base64-encoded), the 29 s integration timeout (the function's own
timeout applies; a timed-out invocation answers 504 as API Gateway would).
"""
from __future__ import annotations

import base64
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from local.deploy import DeployedApi
from local.runner_log import logger
from local.template import ApiRoute
from local.workers import FunctionWorker


def match_route(routes: Iterable[ApiRoute], path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    """The most specific resource matching `path` and its path parameters.

    Literal segments beat `{name}`, which beats a greedy `{name+}`, as in API Gateway."""
    segments = [segment for segment in path.split("/") if segment]
    best: tuple[tuple[int, int], ApiRoute, dict[str, str]] | None = None
    for route in routes:
        params = _match(route.path, segments)
        if params is None:
            continue
        template = [segment for segment in route.path.split("/") if segment]
        literals = sum(1 for segment in template if not segment.startswith("{"))
        greedy = sum(1 for segment in template if segment.endswith("+}"))
        rank = (literals, -greedy)
        if best is None or rank > best[0]:
            best = (rank, route, params)
    return None if best is None else (best[1], best[2])


def _match(template_path: str, segments: list[str]) -> dict[str, str] | None:
    template = [segment for segment in template_path.split("/") if segment]
    params: dict[str, str] = {}
    for index, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            if index >= len(segments):
                return None
            params[part[1:-2]] = "/".join(segments[index:])
            return params
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = segments[index]
        elif part != segments[index]:
            return None
    return params if len(template) == len(segments) else None


def proxy_event(
    request: Request, route: ApiRoute, path_params: Mapping[str, str], api: DeployedApi, account_id: str
) -> dict[str, Any]:
    """The API Gateway REST proxy integration event for one request."""
    raw = request.get_data()
    try:
        body: str | None = raw.decode("utf-8") if raw else None
        is_base64 = False
    except UnicodeDecodeError:
        body, is_base64 = base64.b64encode(raw).decode(), True
    # API Gateway adds X-Forwarded-Proto; the API builds its own public URLs from it
    headers = {**{name: value for name, value in request.headers.items()}, "X-Forwarded-Proto": request.scheme}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers.items():
        multi_headers.setdefault(name, []).append(value)
    query = {name: request.args.getlist(name)[-1] for name in request.args}
    multi_query = {name: request.args.getlist(name) for name in request.args}
    now = time.time()
    request_id = str(uuid.uuid4())
    return {
        "resource": route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_params) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api.rest_api_id,
            "resourceId": route.path,
            "resourcePath": route.path,
            "httpMethod": request.method,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            # the path as the client asked for it: this server serves the stage at its root,
            # as a custom domain mapped at "/" does (execute-api URLs add "/<stage>")
            "path": request.path,
            "stage": api.stage,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "identity": {
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.user_agent.string or None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "apiKey": None,
                "accessKey": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
            },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _json_response(status: int, payload: Mapping[str, Any]) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def proxy_response(payload: Any) -> Response:
    """A proxy integration result -> HTTP; a malformed one is API Gateway's 502."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("statusCode"), int):
        return _json_response(502, {"message": "Internal server error"})
    headers = Headers()
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        for value in values:
            headers.add(name, str(value))
    for name, value in (payload.get("headers") or {}).items():
        headers[name] = str(value)
    body = payload.get("body") or ""
    data = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode("utf-8")
    return Response(data, status=payload["statusCode"], headers=headers)


class ApiGatewayServer:
    """A threaded werkzeug server in front of a small pool of API function workers."""

    def __init__(
        self, api: DeployedApi, workers: list[FunctionWorker], account_id: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.api = api
        self.account_id = account_id
        self._workers: queue.Queue[FunctionWorker] = queue.Queue()
        self._all_workers = workers
        for worker in workers:
            self._workers.put(worker)
        self._server: BaseWSGIServer = make_server(host, port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self.requests = 0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ApiGatewayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        for worker in self._all_workers:
            worker.close()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        self.requests += 1
        matched = match_route(self.api.routes, request.path)
        if matched is None or not ({request.method, "ANY"} & matched[0].methods):
            # What API Gateway answers for a resource or method it does not have.
            return _json_response(403, {"message": "Missing Authentication Token"})
        route, params = matched
        event = proxy_event(request, route, params, self.api, self.account_id)
        worker = self._workers.get()
        try:
            result = worker.invoke(event)
        except Exception as error:  # the runtime itself broke: what API Gateway shows is a 502
            logger.error("api worker failed", path=request.path, error=str(error))
            return _json_response(502, {"message": "Internal server error"})
        finally:
            self._workers.put(worker)
        if result.timed_out:
            return _json_response(504, {"message": "Endpoint request timed out"})
        if not result.ok:
            logger.warning(
                "api invocation failed", path=request.path, error_type=result.error_type,
                error_message=result.error_message,
            )
            return _json_response(502, {"message": "Internal server error"})
        return proxy_response(result.payload)
