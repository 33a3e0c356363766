"""Fixtures for the client tests (helpers live in support.py)."""
from __future__ import annotations

import pytest

from tests.unit.clients.support import RecordedSleep
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
