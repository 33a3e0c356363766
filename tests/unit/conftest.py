"""The unit tier opens no sockets: HTTP clients are tested through httpx.MockTransport,
so a test that reaches the network (or a loopback server) fails here with
SocketBlockedError. Unix sockets stay allowed: asyncio and multiprocessing use them
for their own plumbing, never to reach a service."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket

from tvreport import env_keys
from tvreport.clients import slots
from tvreport.upstream_budgets import DEPLOYMENT_BUDGETS


@pytest.fixture(autouse=True)
def _no_network():
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture(autouse=True)
def no_budgets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No service has a budget here: the unit tier has no DynamoDB for the slot bucket.
    tests/integration/test_budget_bucket.py checks the bucket and the scheduler; the
    integration tier's stages spend real budgets."""
    monkeypatch.setenv(env_keys.UPSTREAM_RATE_LIMITS, json.dumps(dict.fromkeys(DEPLOYMENT_BUDGETS)))
    slots.slot_scheduler.cache_clear()
    yield
    slots.slot_scheduler.cache_clear()
