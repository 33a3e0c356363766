"""Gandalf sandbox over HTTP: signatures, paging and GraphQL error codes."""
from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from local.sandbox.gandalf import GandalfSandbox

from .conftest import get_activity_body, sign


@pytest.fixture(scope="module")
def gandalf(viewers: dict[str, list[dict]], gandalf_public_pem: bytes) -> Iterator[GandalfSandbox]:
    with GandalfSandbox(viewers, gandalf_public_pem) as server:
        yield server


def _post(gandalf: GandalfSandbox, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(gandalf.gql_url, content=body, headers=headers, timeout=5)


def _error_code(response: httpx.Response) -> str:
    assert response.status_code == 200  # GraphQL reports errors in the body
    payload = response.json()
    assert payload["data"] is None
    return payload["errors"][0]["extensions"]["code"]


def test_signed_requests_page_through_the_history(gandalf, signed_headers, viewers):
    history = viewers["typical"]
    pages = []
    for page in (1, 2, 6):
        body = get_activity_body("typical", page=page, limit=300)
        response = _post(gandalf, body, signed_headers(body))
        assert response.status_code == 200
        pages.append(response.json()["data"]["getActivity"])
    first, second, beyond = pages
    assert (first["limit"], first["total"], first["page"]) == (300, len(history), 1)
    assert first["data"] == history[:300] and second["data"] == history[300:600]
    assert beyond["data"] == [] and beyond["total"] == len(history)
    assert first["data"][0]["metadata"]["__typename"] == "NetflixActivityMetadata"


def test_the_last_page_is_partial(gandalf, signed_headers, viewers):
    total = len(viewers["light"])
    body = get_activity_body("light", page=2, limit=200)
    data = _post(gandalf, body, signed_headers(body)).json()["data"]["getActivity"]["data"]
    assert len(data) == total - 200


def test_missing_or_bad_signature_is_invalid_signature(gandalf, gandalf_key):
    body = get_activity_body("light")
    assert _error_code(_post(gandalf, body, {"Content-Type": "application/json"})) == "INVALID_SIGNATURE"
    # Signed by another key.
    stranger = ec.generate_private_key(ec.SECP256K1())
    assert _error_code(_post(gandalf, body, {"X-Gandalf-Signature": sign(stranger, body)})) == "INVALID_SIGNATURE"
    # A signature over different bytes than those sent.
    other_body = get_activity_body("light", page=2)
    assert _error_code(_post(gandalf, body, {"X-Gandalf-Signature": sign(gandalf_key, other_body)})) == "INVALID_SIGNATURE"
    assert _error_code(_post(gandalf, body, {"X-Gandalf-Signature": "not base64!"})) == "INVALID_SIGNATURE"


def test_unknown_data_key_is_record_not_found(gandalf, signed_headers):
    body = get_activity_body("no-such-key")
    assert _error_code(_post(gandalf, body, signed_headers(body))) == "RECORD_NOT_FOUND"


def test_other_sources_are_not_supported(gandalf, signed_headers):
    body = get_activity_body("light", source="UBER")
    assert _error_code(_post(gandalf, body, signed_headers(body))) == "PROTOCOL_NOT_SUPPORTED"


@pytest.mark.parametrize("limit, page", [(301, 1), (0, 1), (10, 0)])
def test_limit_and_page_are_validated(gandalf, signed_headers, limit, page):
    body = get_activity_body("light", page=page, limit=limit)
    assert _error_code(_post(gandalf, body, signed_headers(body))) == "BAD_USER_INPUT"


def test_only_get_activity_is_served(gandalf, signed_headers):
    body = json.dumps({"query": "query { getTraits { id } }", "variables": {}}).encode()
    assert _error_code(_post(gandalf, body, signed_headers(body))) == "GRAPHQL_VALIDATION_FAILED"


def test_registered_viewer_is_served(gandalf, signed_headers):
    gandalf.register_viewer("run-42", [{"id": "a1", "metadata": {"title": "Dark: Season 1: Episode 1"}}])
    body = get_activity_body("run-42")
    result = _post(gandalf, body, signed_headers(body)).json()["data"]["getActivity"]
    assert result["total"] == 1 and result["data"][0]["id"] == "a1"
    assert gandalf.stats()["requests"]["get_activity"] >= 1
