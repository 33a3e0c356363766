"""A loopback werkzeug server with per-endpoint request counters and fault injection.

Each sandbox service subclasses SandboxServer, maps a request to an endpoint name
and a handler, and says what an injected error looks like in its protocol."""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.lifecycle import StartStop
from local.sandbox.faults import FaultInjector, FaultKind, Faults
from tvreport.observability import logger

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

Handler = Callable[..., Response]
SHUTDOWN_POLL_S = 0.05  # how often serve_forever checks for stop(); werkzeug's 0.5 s slows teardown


# The WSGI environ key holding when the request's first line was read (monotonic s).
ARRIVED_AT = "sandbox.arrived_at"


class _ArrivalStampingRequestHandler(WSGIRequestHandler):
    """Stamps each request when its request line has been read off the socket, before
    werkzeug parses it (the sandbox shares its process with moto and the engine, so the
    WSGI app can run many milliseconds later); keeps werkzeug's access lines quiet."""

    def parse_request(self) -> bool:
        self._arrived_at = time.monotonic()  # called right after the request line is read
        return super().parse_request()

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[ARRIVED_AT] = self._arrived_at
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer(StartStop):
    """Base of the sandbox services. Subclasses set `service` and `url_map` (werkzeug
    rules whose endpoint is the name of a method taking (request, **arguments))."""

    service = "sandbox"
    url_map: Map = Map()

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._injector = FaultInjector(self.faults)
        self._counter_lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        # When each request arrived (monotonic s): the bench's peak requests per second.
        self.request_times: list[float] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.service} sandbox is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = make_server("127.0.0.1", 0, self._wsgi_app,  # type: ignore[arg-type]  # a WSGI app
                                   threaded=True, request_handler=_ArrivalStampingRequestHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name=f"sandbox-{self.service}",
            daemon=True,
        )
        self._thread.start()
        logger.info("sandbox service started", service=self.service, url=self.url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    # -- counters --------------------------------------------------------------
    def stats(self) -> dict[str, dict[str, int]]:
        with self._counter_lock:
            return {"requests": dict(self.requests), "faults": dict(self._injector.injected)}

    def arrival_times(self) -> list[float]:
        """A copy of every counted request's arrival time (time.monotonic())."""
        with self._counter_lock:
            return list(self.request_times)

    # -- protocol hooks ----------------------------------------------------------
    def error_response(self, status: int) -> Response:
        """The service's answer when an error is injected."""
        return Response(f"{status} sandbox injected error", status=status, mimetype="text/plain")

    def rate_limited_response(self) -> Response:
        return Response(
            "429 Too Many Requests",
            status=429,
            mimetype="text/plain",
            headers={"Retry-After": str(self.faults.retry_after_s)},
        )

    def not_found_response(self, request: Request) -> Response:
        return Response("404 Not Found", status=404, mimetype="text/plain")

    # -- dispatch -------------------------------------------------------------
    def _wsgi_app(self, environ: dict, start_response: Callable) -> object:
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        arrived_at = request.environ[ARRIVED_AT]
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
        except NotFound:
            self._count("not_found", arrived_at)
            return self.not_found_response(request)
        except HTTPException as exc:  # e.g. 405 for a GET on a POST-only endpoint
            self._count("rejected", arrived_at)
            return exc.get_response(request.environ)
        self._count(endpoint, arrived_at)

        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        fault = self._injector.decide()
        if fault is FaultKind.RATE_LIMITED:
            return self.rate_limited_response()
        if fault is FaultKind.ERROR:
            return self.error_response(self._injector.error_status())
        if fault is FaultKind.TIMEOUT:
            # Answer, but only after a client with a shorter timeout gave up.
            time.sleep(self.faults.timeout_sleep_s)
        handler: Handler = getattr(self, endpoint)
        return handler(request, **arguments)

    def _count(self, endpoint: str, arrived_at: float) -> None:
        with self._counter_lock:
            self.requests[endpoint] += 1
            self.request_times.append(arrived_at)
