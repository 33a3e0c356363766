"""moto in server mode on a loopback port: the local runner's "AWS".

Every process (the runner, the worker processes running the handlers) reaches it
over HTTP through the standard AWS_ENDPOINT_URL variable, as it would reach AWS.
In front of moto sits `HostileAws` (local/aws_faults.py): DynamoDB requests one at
a time, and the injected API faults, which only the functions' calls see; a
cancelled transaction leaves nothing in a stream (local/moto_rollback.py).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.aws_faults import RUNNER_ACCESS_KEY_ID, HostileAws
from local.moto_rollback import keep_stream_shards_across_rollbacks

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
# Functions sign with these; the runner's own clients with RUNNER_ACCESS_KEY_ID,
# which exempts them from injected faults.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# Short timeouts and a few standard retries: the server is on loopback, so a slow
# answer means an overloaded machine, not a far-away region.
_CLIENT_CONFIG = Config(
    retries={"max_attempts": 4, "mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
    max_pool_connections=32,
)

class _HostileMotoServer(ThreadedMotoServer):
    """moto's threaded server with HostileAws wrapped around its dispatcher."""

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.hostile = HostileAws(DomainDispatcherApplication(create_backend_app))

    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, self.hostile, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

@dataclass
class MotoAws:
    """A running moto server and a factory of boto3 clients pointed at it."""

    server: _HostileMotoServer
    url: str
    region: str = REGION
    _session: boto3.Session = field(init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._session = boto3.Session(
            aws_access_key_id=RUNNER_ACCESS_KEY_ID,
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )

    @property
    def account_id(self) -> str:
        return ACCOUNT_ID

    def client(self, service: str) -> Any:
        """One shared client per service (boto3 clients are thread-safe; sessions are not)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.url, config=_CLIENT_CONFIG
                )
            return self._clients[service]

    @property
    def hostile(self) -> HostileAws:
        """The fault and lock layer: `configure(rates)` at any time, `stats()`."""
        return self.server.hostile

    def function_client(self, service: str, config: Config | None = None) -> Any:
        """A client signed as the functions are (faults apply), for tests."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=config or _CLIENT_CONFIG,
        )

    def worker_env(self) -> dict[str, str]:
        """Environment that points a process's boto3 at this server."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def detach_builtin_pollers(self) -> None:
        """Stop moto from running event source mappings itself.

        moto invokes a mapped function on every SendMessage / table write (through
        Docker, absent here), receiving the messages on the way, which would bump
        receive counts and race our engine. The mappings stay listed; only moto's
        in-process hooks are cleared. The server runs in this process, so its
        backends are reachable directly."""
        from moto.dynamodb.models import dynamodb_backends
        from moto.sqs.models import sqs_backends

        for queue in sqs_backends[ACCOUNT_ID][self.region].queues.values():
            queue.lambda_event_source_mappings.clear()
        for table in dynamodb_backends[ACCOUNT_ID][self.region].tables.values():
            table.lambda_event_source_mappings.clear()

    def stop(self) -> None:
        self.server.stop()

def start_moto(
    host: str = "127.0.0.1", port: int = 0, faults: Mapping[str, float] | None = None, seed: int | None = None
) -> MotoAws:
    """Start moto on a free loopback port (port 0 lets the OS pick), with the
    given per-operation fault rates for the functions' calls (see aws_faults), on an
    empty account: moto keeps its backends in this process across servers, so a
    second system in one process (e2e modules, the bench) would find the first
    one's stack."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    keep_stream_shards_across_rollbacks()
    # The server logs every request through werkzeug; keep the terminal for us.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _HostileMotoServer(ip_address=host, port=port)
    server.hostile.configure(faults, seed)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return MotoAws(server=server, url=f"http://{bound_host}:{bound_port}")
