"""Gandalf: the signed request, the SDK README sample, error codes, concurrent pages."""
from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from local.sandbox.gandalf import public_key_pem, verify_signature
from tests.unit.clients.support import (
    GANDALF_ENDPOINT as ENDPOINT,
    GANDALF_PRIVATE_KEY_HEX as PRIVATE_KEY_HEX,
    ScriptedTransport,
    graphql_error,
    readme_sample_response,
)
from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError
from tvreport.clients.gandalf import (
    SIGNATURE_HEADER,
    ActivityPage,
    GandalfActivity,
    GandalfClient,
    load_private_key,
    parse_activity_page,
    sign_body,
)


def client_with(transport: httpx.MockTransport, retry=None, max_concurrency: int = 4) -> GandalfClient:
    return GandalfClient(
        ENDPOINT, PRIVATE_KEY_HEX, http=httpx.Client(transport=transport), max_concurrency=max_concurrency, retry=retry
    )


# ---- the README sample -------------------------------------------------------


def test_readme_sample_page_is_parsed(retry):
    transport = ScriptedTransport(httpx.Response(200, json=readme_sample_response()))
    page = client_with(transport, retry).fetch_page("data-key", page=1, limit=10)
    assert page == ActivityPage(
        page=1,
        limit=10,
        total=3409,
        activities=[
            GandalfActivity(
                title="Judge Dee's Mystery: Season 1: Episode 3",
                date="01/01/2024",
                imdb_id="tt31473598",
                tvdb_id="10296096",
            )
        ],
    )


def test_entries_without_a_netflix_title_are_skipped_not_fatal():
    page = parse_activity_page(
        {
            "data": [None, {"id": "a"}, {"metadata": {"title": "Lupin: Part 1: Chapter 1", "subject": None}}],
            "limit": 300,
            "total": 3,
            "page": 1,
        }
    )
    assert page.skipped == 2
    assert page.activities == [GandalfActivity(title="Lupin: Part 1: Chapter 1", date="")]


# ---- the request and its signature -------------------------------------------


def test_request_is_the_signed_get_activity_query(retry):
    transport = ScriptedTransport(httpx.Response(200, json=readme_sample_response()))
    client_with(transport, retry).fetch_page("secret-data-key", page=3, limit=300)
    request = transport.requests[0]
    body = request.content
    sent = json.loads(body)
    assert request.method == "POST" and str(request.url) == ENDPOINT
    assert request.headers["Content-Type"] == "application/json"
    assert sent["variables"] == {"dataKey": "secret-data-key", "source": "NETFLIX", "limit": 300, "page": 3}
    query = " ".join(sent["query"].split())
    assert "getActivity(dataKey: $dataKey, source: $source, limit: $limit, page: $page)" in query
    assert "metadata { ... on NetflixActivityMetadata { title date subject { value identifierType } } }" in query
    assert "limit total page" in query
    # The signature covers exactly the bytes sent.
    public_pem = public_key_pem(PRIVATE_KEY_HEX)
    assert verify_signature(public_pem, body, request.headers[SIGNATURE_HEADER])
    assert not verify_signature(public_pem, body.replace(b'"page":3', b'"page":4'), request.headers[SIGNATURE_HEADER])


def test_signature_fails_for_another_key_or_garbage():
    body = b'{"query":"x"}'
    signature = sign_body(load_private_key(PRIVATE_KEY_HEX), body)
    other_key = load_private_key("0x" + "11" * 32).public_key()
    assert verify_signature(load_private_key(PRIVATE_KEY_HEX).public_key(), body, signature)
    assert not verify_signature(other_key, body, signature)
    assert not verify_signature(public_key_pem(PRIVATE_KEY_HEX), body, "not base64!!")


def test_private_key_with_or_without_0x_prefix_is_the_same_secp256k1_key():
    assert public_key_pem(PRIVATE_KEY_HEX) == public_key_pem(PRIVATE_KEY_HEX[2:])
    loaded = serialization.load_pem_public_key(public_key_pem(PRIVATE_KEY_HEX))
    assert loaded.curve.name == "secp256k1"


def test_limit_above_the_schema_cap_is_refused_before_any_call(retry):
    transport = ScriptedTransport(httpx.Response(200, json=readme_sample_response()))
    with pytest.raises(ValueError):
        client_with(transport, retry).fetch_page("k", page=1, limit=301)
    assert transport.calls == 0


# ---- error codes -------------------------------------------------------------


@pytest.mark.parametrize("code", ["RECORD_NOT_FOUND", "INVALID_SIGNATURE", "PROTOCOL_NOT_SUPPORTED"])
def test_codes_that_cannot_succeed_are_permanent_after_one_attempt(code, retry, sleep):
    transport = ScriptedTransport(graphql_error(code), httpx.Response(200, json=readme_sample_response()))
    with pytest.raises(PermanentUpstreamError) as caught:
        client_with(transport, retry).fetch_page("k", page=1)
    assert caught.value.code == code and caught.value.service == "gandalf"
    assert transport.calls == 1 and caught.value.attempts == 1 and sleep.waits == []


def test_internal_error_is_retried_then_succeeds(retry):
    transport = ScriptedTransport(graphql_error("INTERNAL_SERVER_ERROR"), httpx.Response(200, json=readme_sample_response()))
    page = client_with(transport, retry).fetch_page("k", page=1, limit=10)
    assert transport.calls == 2 and page.total == 3409


def test_unknown_code_that_never_clears_is_retryable_with_attempts(retry):
    transport = ScriptedTransport(graphql_error("INTERNAL_SERVER_ERROR"))
    with pytest.raises(RetryableUpstreamError) as caught:
        client_with(transport, retry).fetch_page("k", page=1)
    assert caught.value.code == "INTERNAL_SERVER_ERROR" and caught.value.attempts == 4 and transport.calls == 4


def test_response_without_get_activity_is_retried(retry):
    transport = ScriptedTransport(httpx.Response(200, json={"data": None}), httpx.Response(200, json=readme_sample_response()))
    assert client_with(transport, retry).fetch_page("k", page=1).total == 3409
    assert transport.calls == 2


# ---- concurrent pages --------------------------------------------------------


class PagedServer:
    """Answers page N after a delay that makes later pages finish first, and
    measures how many requests were in flight at once."""

    def __init__(self, total: int, limit: int) -> None:
        self.total, self.limit = total, limit
        self.in_flight = self.max_in_flight = 0
        self.pages_requested: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["variables"]["page"]
        with self._lock:
            self.pages_requested.append(page)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(0.02 * (5 - page % 5))
        with self._lock:
            self.in_flight -= 1
        activities = [{"metadata": {"title": f"Show: Season 1: Episode {page}", "date": "01/02/2024"}}]
        return httpx.Response(
            200, json={"data": {"getActivity": {"data": activities, "limit": self.limit, "total": self.total, "page": page}}}
        )


def test_pages_are_fetched_concurrently_with_a_bound_and_yielded_in_order():
    server = PagedServer(total=3000, limit=300)
    client = client_with(httpx.MockTransport(server), max_concurrency=3)
    pages = list(client.fetch_pages("k", [1, 2, 3, 4, 5, 6, 7, 8], limit=300))
    assert [p.page for p in pages] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [p.activities[0].title for p in pages][:2] == ["Show: Season 1: Episode 1", "Show: Season 1: Episode 2"]
    assert 2 <= server.max_in_flight <= 3


def test_stopping_early_does_not_fetch_every_page():
    server = PagedServer(total=30000, limit=300)
    client = client_with(httpx.MockTransport(server), max_concurrency=2)
    pages = client.fetch_pages("k", list(range(1, 101)), limit=300)
    assert next(pages).page == 1
    pages.close()
    assert len(server.pages_requested) <= 4


def test_a_failing_page_surfaces_to_the_consumer(retry):
    def answer(request: httpx.Request) -> httpx.Response:
        page = json.loads(request.content)["variables"]["page"]
        if page == 2:
            return graphql_error("RECORD_NOT_FOUND")
        return httpx.Response(200, json={"data": {"getActivity": {"data": [], "limit": 1, "total": 3, "page": page}}})

    pages = client_with(httpx.MockTransport(answer), retry, max_concurrency=2).fetch_pages("k", [1, 2, 3], limit=1)
    assert next(pages).page == 1
    with pytest.raises(PermanentUpstreamError):
        next(pages)
