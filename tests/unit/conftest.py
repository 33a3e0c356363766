"""The unit tier opens no sockets: HTTP clients are tested through httpx.MockTransport,
so a test that reaches the network (or a loopback server) fails here with
SocketBlockedError. Unix sockets stay allowed: asyncio and multiprocessing use them
for their own plumbing, never to reach a service."""
from __future__ import annotations

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network():
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()
