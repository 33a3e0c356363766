"""Fixtures for the client tests (helpers live in support.py)."""
from __future__ import annotations

import pytest

from tests.unit.clients.support import RecordedSleep
from tvreport.clients import http as http_module
from tvreport.clients.http import RetryPolicy
from tvreport.observability import metrics


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def retry(sleep: RecordedSleep) -> RetryPolicy:
    return RetryPolicy(attempts=4, backoff_base_s=0.5, backoff_max_s=8.0, retry_after_cap_s=30.0, sleep=sleep)


@pytest.fixture(autouse=True)
def fresh_metrics():
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.fixture(autouse=True)
def no_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-service limiters are real-time (Rotten Tomatoes: 5/s); tests that are
    not about them must not wait on them. test_http checks the limiters themselves."""
    monkeypatch.setattr(http_module, "rate_limiter", lambda service: None)
