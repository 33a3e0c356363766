"""Fixtures for the sandbox services: the catalogue, viewers for a fixed day, a
Gandalf signing key, and request signing done the way Gandalf documents it."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from local.sandbox import Catalogue, default_catalogue
from local.sandbox.viewers import build_viewers

TODAY = date(2025, 6, 1)
TMDB_KEY = "test-tmdb-key"

GET_ACTIVITY_QUERY = (
    "query getActivity($dataKey: String!, $source: Source!, $limit: Int64!, $page: Int64!) "
    "{ getActivity(dataKey: $dataKey, source: $source, limit: $limit, page: $page) "
    "{ data { id metadata { ... on NetflixActivityMetadata { title date subject { value identifierType } } } } "
    "limit total page } }"
)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return default_catalogue()


@pytest.fixture(scope="session")
def viewers(catalogue: Catalogue) -> dict[str, list[dict]]:
    return build_viewers(TODAY, catalogue)


@pytest.fixture(scope="session")
def gandalf_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256K1())


@pytest.fixture(scope="session")
def gandalf_public_pem(gandalf_key: ec.EllipticCurvePrivateKey) -> bytes:
    return gandalf_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def get_activity_body(data_key: str, page: int = 1, limit: int = 300, source: str = "NETFLIX") -> bytes:
    variables = {"dataKey": data_key, "source": source, "limit": limit, "page": page}
    return json.dumps({"query": GET_ACTIVITY_QUERY, "variables": variables}).encode()


def sign(key: ec.EllipticCurvePrivateKey, body: bytes) -> str:
    """base64 of the DER ECDSA secp256k1 signature over SHA-256(body)."""
    return base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


@pytest.fixture
def signed_headers(gandalf_key: ec.EllipticCurvePrivateKey) -> Iterator:
    def headers_for(body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Gandalf-Signature": sign(gandalf_key, body)}

    yield headers_for
