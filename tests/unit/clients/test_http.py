"""The shared HTTP plumbing: status classification, Retry-After, backoff, metrics (the budget
slots: tests/integration/test_budget_bucket.py)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from aws_lambda_powertools.metrics import MetricUnit

from tests.unit.clients.support import RecordedSleep, ScriptedTransport, metric_count
from tvreport.clients import http as http_module
from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError
from tvreport.clients.http import (
    USER_AGENT,
    DeadlineExceeded,
    RetryPolicy,
    Upstream,
    check_status,
    deadline_within,
    make_http_client,
    parse_retry_after,
    record_metric,
)
from tvreport.observability import metrics

BASE = "https://svc.test"


def _upstream(transport: ScriptedTransport, retry: RetryPolicy, service: str = "svc") -> Upstream:
    return Upstream(service, make_http_client(service, BASE, 5.0, transport=transport), retry)


def _text(response: httpx.Response) -> str:
    return check_status("svc", response).text


# ---- Retry-After -------------------------------------------------------------


def test_retry_after_in_seconds():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0


def test_retry_after_as_http_date_counts_from_now():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after(header, now=now) == 42.0


def test_retry_after_in_the_past_or_unreadable():
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None


# ---- status classification ---------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status):
    with pytest.raises(RetryableUpstreamError) as caught:
        check_status("svc", httpx.Response(status, request=httpx.Request("GET", BASE)))
    assert caught.value.status == status and caught.value.retryable


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_permanent(status):
    with pytest.raises(PermanentUpstreamError) as caught:
        check_status("svc", httpx.Response(status, request=httpx.Request("GET", BASE)))
    assert caught.value.status == status and not caught.value.retryable


# ---- retries -----------------------------------------------------------------


def test_5xx_then_success(retry, sleep):
    transport = ScriptedTransport(httpx.Response(503), httpx.Response(200, text="ok"))
    assert _upstream(transport, retry).call("GET", f"{BASE}/x", _text) == "ok"
    assert transport.calls == 2
    assert len(sleep.waits) == 1 and 0 <= sleep.waits[0] <= retry.backoff_max_s


def test_timeout_then_success(retry):
    transport = ScriptedTransport(httpx.ReadTimeout("slow"), httpx.Response(200, text="ok"))
    assert _upstream(transport, retry).call("GET", f"{BASE}/x", _text) == "ok"
    assert transport.calls == 2


def test_connection_error_then_success(retry):
    transport = ScriptedTransport(httpx.ConnectError("refused"), httpx.Response(200, text="ok"))
    assert _upstream(transport, retry).call("GET", f"{BASE}/x", _text) == "ok"
    assert transport.calls == 2


def test_429_waits_what_retry_after_says(retry, sleep):
    transport = ScriptedTransport(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, text="ok"))
    assert _upstream(transport, retry).call("GET", f"{BASE}/x", _text) == "ok"
    assert sleep.waits == [7.0]


def test_retry_after_is_capped(retry, sleep):
    transport = ScriptedTransport(httpx.Response(503, headers={"Retry-After": "3600"}), httpx.Response(200))
    _upstream(transport, retry).call("GET", f"{BASE}/x", _text)
    assert sleep.waits == [retry.retry_after_cap_s]


def test_permanent_error_is_not_retried(retry, sleep):
    transport = ScriptedTransport(httpx.Response(403), httpx.Response(200))
    with pytest.raises(PermanentUpstreamError) as caught:
        _upstream(transport, retry).call("GET", f"{BASE}/x", _text)
    assert transport.calls == 1 and caught.value.attempts == 1 and caught.value.status == 403
    assert sleep.waits == []


def test_exhausted_retries_raise_retryable_with_the_attempt_count(retry, sleep):
    transport = ScriptedTransport(httpx.Response(500))
    with pytest.raises(RetryableUpstreamError) as caught:
        _upstream(transport, retry).call("GET", f"{BASE}/x", _text)
    assert transport.calls == 4 and caught.value.attempts == 4 and caught.value.status == 500
    assert len(sleep.waits) == 3
    # Jittered exponential backoff: each wait within [0, base * 2^n], never above the max.
    for n, wait in enumerate(sleep.waits, start=1):
        assert 0 <= wait <= min(retry.backoff_base_s * 2**n, retry.backoff_max_s)


def test_default_policy_is_a_module_setting(monkeypatch):
    recorded = RecordedSleep()
    monkeypatch.setattr(http_module, "default_retry_policy", RetryPolicy(attempts=2, sleep=recorded))
    transport = ScriptedTransport(httpx.Response(502))
    upstream = Upstream("svc", make_http_client("svc", BASE, 5.0, transport=transport))
    with pytest.raises(RetryableUpstreamError):
        upstream.call("GET", f"{BASE}/x", _text)
    assert transport.calls == 2 and len(recorded.waits) == 1


# ---- client setup, limits, metrics -------------------------------------------


def test_client_identifies_itself_and_keeps_given_headers():
    transport = ScriptedTransport(httpx.Response(200))
    client = make_http_client("svc", BASE, 3.0, headers={"X-Extra": "1"}, transport=transport)
    client.get("/x")
    sent = transport.requests[0]
    assert sent.headers["User-Agent"] == USER_AGENT and "tvreport-crawler/1.0 (+https://" in USER_AGENT
    assert sent.headers["X-Extra"] == "1"
    assert client.timeout.read == 3.0 and client.timeout.connect == 3.0


def test_calls_retries_and_failures_are_counted(retry):
    transport = ScriptedTransport(httpx.Response(500), httpx.Response(500), httpx.Response(200))
    _upstream(transport, retry, service="tmdb").call("GET", f"{BASE}/x", _text)
    assert metric_count("UpstreamCalls_tmdb") == 3
    assert metric_count("UpstreamRetries_tmdb") == 2
    assert metric_count("UpstreamFailures_tmdb") == 0
    with pytest.raises(PermanentUpstreamError):
        _upstream(ScriptedTransport(httpx.Response(404)), retry, service="tmdb").call("GET", f"{BASE}/x", _text)
    assert metric_count("UpstreamFailures_tmdb") == 1


def test_metrics_outside_a_handler_never_raise(monkeypatch):
    # Without a namespace, Powertools raises when its 100-value buffer flushes.
    monkeypatch.setattr(metrics.provider, "namespace", None)
    for _ in range(250):
        record_metric("UpstreamCalls_svc", 1, MetricUnit.Count)
    assert metric_count("UpstreamCalls_svc") < 100


# ---- the deadline: a trickle that per-read timeouts never catch -------------------


class Trickle(httpx.SyncByteStream):
    """A body sent one byte at a time, each well within any read timeout."""

    def __init__(self, size: int, gap_s: float) -> None:
        self.size, self.gap_s, self.sent = size, gap_s, 0

    def __iter__(self):
        for _ in range(self.size):
            time.sleep(self.gap_s)
            self.sent += 1
            yield b"x"


def _trickling_upstream(body: Trickle, retry) -> Upstream:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=body))
    return Upstream("tmdb", make_http_client("tmdb", "", 10.0, transport=transport), retry)


def test_a_trickling_reply_is_cut_off_at_the_invocation_deadline(retry, sleep):
    body = Trickle(size=400, gap_s=0.01)  # 4 s of trickle under a 10 s read timeout
    upstream = _trickling_upstream(body, retry)
    with deadline_within(lambda: 2_000):  # 2 s left in the invocation: 1 s for the call
        with pytest.raises(DeadlineExceeded) as caught:
            upstream.call("GET", "https://tmdb.test/3/tv/1", lambda response: response.text)
    assert caught.value.code == "deadline" and caught.value.retryable
    assert 0 < body.sent < body.size  # cut off mid-body
    assert sleep.waits == []  # and not retried past the deadline


def test_without_a_deadline_the_same_trickle_is_read_whole(retry):
    body = Trickle(size=20, gap_s=0.005)
    assert _trickling_upstream(body, retry).call("GET", "https://tmdb.test/3/tv/1", lambda r: r.text) == "x" * 20


def test_retries_stop_before_a_wait_that_would_cross_the_deadline(sleep):
    # Retry-After makes the wait certain (backoff has full jitter: it may pick anything
    # from 0 s up, so a jittered wait could fit in the deadline and the test would flake).
    policy = RetryPolicy(attempts=10, retry_after_cap_s=60, sleep=sleep)
    transport = httpx.MockTransport(lambda request: httpx.Response(503, headers={"Retry-After": "60"}))
    upstream = Upstream("tmdb", make_http_client("tmdb", "", 10.0, transport=transport), policy)
    with deadline_within(lambda: 20_000):  # far less than the 60 s the service asks for
        with pytest.raises(RetryableUpstreamError) as caught:
            upstream.call("GET", "https://tmdb.test/3/tv/1", lambda r: check_status("tmdb", r))
    assert caught.value.attempts == 1 and sleep.waits == []
