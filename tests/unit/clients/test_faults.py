"""Each HTTP client under upstream faults: 5xx, timeouts, 429 with Retry-After,
permanent 4xx and retries that run out. Waits are recorded, never slept."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.unit.clients.support import (
    GANDALF_ENDPOINT,
    GANDALF_PRIVATE_KEY_HEX,
    ScriptedTransport,
    graphql_error,
    readme_sample_response,
    real_text,
)
from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError
from tvreport.clients.gandalf import GandalfClient
from tvreport.clients.http import RetryPolicy
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.clients.tmdb import TmdbClient

BREAKING_BAD = "tmdb/c-eg_search_tv_breaking-bad.json"
YAMTRACK_SCORECARD = "rottentomatoes/yamtrack_scorecard_snippet_TRIMMED.html"


@dataclass
class Case:
    """How to call one client once, what a good answer looks like, and how to check it."""

    service: str
    call: Callable[[httpx.Client, RetryPolicy], Any]
    good: Callable[[], httpx.Response]
    is_good: Callable[[Any], bool]


CASES = [
    Case(
        "gandalf",
        lambda http, retry: GandalfClient(GANDALF_ENDPOINT, GANDALF_PRIVATE_KEY_HEX, http=http, retry=retry).fetch_page("k", 1),
        lambda: httpx.Response(200, json=readme_sample_response()),
        lambda page: page.total == 3409 and page.activities[0].imdb_id == "tt31473598",
    ),
    Case(
        "tmdb",
        lambda http, retry: TmdbClient("https://tmdb.test", "key", http=http, retry=retry).search_tv("Breaking Bad"),
        lambda: httpx.Response(200, text=real_text(BREAKING_BAD), headers={"Content-Type": "application/json"}),
        lambda results: [r.id for r in results] == [1396],
    ),
    Case(
        "rottentomatoes",
        lambda http, retry: RottenTomatoesClient("https://rt.test", http=http, retry=retry).scores("/tv/dune_prophecy"),
        lambda: httpx.Response(200, text=real_text(YAMTRACK_SCORECARD)),
        lambda scores: scores.critics_score == 83 and scores.audience_score == 90,
    ),
]
IDS = [case.service for case in CASES]


def run(case: Case, transport: ScriptedTransport, retry: RetryPolicy) -> Any:
    return case.call(httpx.Client(transport=transport), retry)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_then_success(case, status, retry, sleep):
    transport = ScriptedTransport(httpx.Response(status), case.good())
    assert case.is_good(run(case, transport, retry))
    assert transport.calls == 2 and len(sleep.waits) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("timeout", [httpx.ConnectTimeout("connect"), httpx.ReadTimeout("read")], ids=["connect", "read"])
def test_timeout_then_success(case, timeout, retry):
    transport = ScriptedTransport(timeout, case.good())
    assert case.is_good(run(case, transport, retry))
    assert transport.calls == 2


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_429_with_retry_after_then_success(case, retry, sleep):
    transport = ScriptedTransport(
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(429, headers={"Retry-After": "11"}),
        case.good(),
    )
    assert case.is_good(run(case, transport, retry))
    assert transport.calls == 3 and sleep.waits == [3.0, 11.0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_permanent_client_error_after_exactly_one_attempt(case, status, retry, sleep):
    transport = ScriptedTransport(httpx.Response(status), case.good())
    with pytest.raises(PermanentUpstreamError) as caught:
        run(case, transport, retry)
    assert transport.calls == 1 and caught.value.attempts == 1 and caught.value.status == status
    assert caught.value.service == case.service and sleep.waits == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_exhausted_retries_raise_retryable_with_the_attempt_count(case, retry, sleep):
    transport = ScriptedTransport(httpx.Response(503), httpx.ReadTimeout("read"), httpx.Response(500))
    with pytest.raises(RetryableUpstreamError) as caught:
        run(case, transport, retry)
    assert transport.calls == retry.attempts == caught.value.attempts == 4
    assert caught.value.service == case.service and caught.value.status == 500
    assert len(sleep.waits) == 3 and all(0 <= w <= retry.backoff_max_s for w in sleep.waits)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fewer_attempts_when_the_policy_says_so(case, sleep):
    transport = ScriptedTransport(httpx.Response(500))
    with pytest.raises(RetryableUpstreamError) as caught:
        run(case, transport, RetryPolicy(attempts=2, sleep=sleep))
    assert transport.calls == 2 and caught.value.attempts == 2


def test_gandalf_record_not_found_is_permanent_after_one_attempt_even_with_http_404(retry):
    transport = ScriptedTransport(graphql_error("RECORD_NOT_FOUND", status=404), httpx.Response(200, json=readme_sample_response()))
    with pytest.raises(PermanentUpstreamError) as caught:
        run(CASES[0], transport, retry)
    assert caught.value.code == "RECORD_NOT_FOUND" and transport.calls == 1


def test_gandalf_graphql_error_on_a_503_is_retried(retry):
    transport = ScriptedTransport(graphql_error("INTERNAL", status=503), httpx.Response(200, json=readme_sample_response()))
    assert CASES[0].is_good(run(CASES[0], transport, retry))
    assert transport.calls == 2


def test_tmdb_body_that_is_not_json_is_retried(retry):
    transport = ScriptedTransport(httpx.Response(200, text="<html>maintenance</html>"), CASES[1].good())
    assert CASES[1].is_good(run(CASES[1], transport, retry))
    assert transport.calls == 2


def test_credentials_never_reach_the_logs(retry, capfd, caplog):
    caplog.set_level("DEBUG")
    data_key, api_key = "SECRET-DATA-KEY-123", "SECRETAPIKEY456"
    gandalf = GandalfClient(
        GANDALF_ENDPOINT, GANDALF_PRIVATE_KEY_HEX, http=httpx.Client(transport=ScriptedTransport(httpx.Response(500))), retry=retry
    )
    tmdb = TmdbClient("https://tmdb.test", api_key, http=httpx.Client(transport=ScriptedTransport(httpx.Response(500))), retry=retry)
    with pytest.raises(RetryableUpstreamError):
        gandalf.fetch_page(data_key, 1)
    with pytest.raises(RetryableUpstreamError):
        tmdb.search_tv("Lupin")
    logged = "".join(capfd.readouterr()) + " ".join(str(vars(record)) for record in caplog.records)
    assert "upstream call failed" in logged and "/3/search/tv" in logged  # the logs were captured
    assert data_key not in logged and api_key not in logged and GANDALF_PRIVATE_KEY_HEX[2:] not in logged
