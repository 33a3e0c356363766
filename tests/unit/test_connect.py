"""Gandalf Connect URLs, the app's public key, and the API's own base URL from an event."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

from tests.support.connect_urls import decode_connect_url
from tvreport.connect import NETFLIX_SERVICES, connect_url, public_base_url, public_key_hex

# secp256k1 generator G: the public key of private key 1 (SEC 2, section 2.4.1)
G_COMPRESSED = "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"


def test_public_key_is_the_compressed_point_with_0x():
    assert public_key_hex("01".rjust(64, "0")) == G_COMPRESSED
    assert public_key_hex("0x" + "01".rjust(64, "0")) == G_COMPRESSED
    key = public_key_hex("9f" * 32)
    assert key.startswith(("0x02", "0x03")) and len(key) == 2 + 66


def test_connect_url_carries_key_redirect_and_base64_services():
    url = connect_url("https://auth.gandalf.network", G_COMPRESSED, "https://api.example/v1/sessions/s-1/callback/")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "auth.gandalf.network")
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert list(query) == ["publicKey", "redirectUrl", "data"]
    assert query["publicKey"] == G_COMPRESSED
    assert query["redirectUrl"] == "https://api.example/v1/sessions/s-1/callback"  # the SDK strips one "/"
    assert json.loads(base64.b64decode(query["data"], validate=True)) == {"netflix": {"activities": ["watch"]}}
    assert decode_connect_url(url) == {"publicKey": G_COMPRESSED, "redirectUrl": query["redirectUrl"],
                                       "services": NETFLIX_SERVICES}


def test_connect_url_keeps_a_base_urls_own_query():
    url = connect_url("https://appclip.apple.com/id?p=network.gandalf.connect.Clip", "0x02", "https://a/b")

    assert parse_qs(urlsplit(url).query)["p"] == ["network.gandalf.connect.Clip"]
    assert decode_connect_url(url)["redirectUrl"] == "https://a/b"


def _event(path: str, seen: str, headers: dict) -> dict:
    return {"path": path, "headers": headers, "requestContext": {"path": seen, "stage": "v1", "domainName": "d"}}


def test_base_url_on_the_execute_api_domain_includes_the_stage():
    event = _event("/sessions", "/v1/sessions", {"Host": "abc.execute-api.eu-west-1.amazonaws.com",
                                                 "X-Forwarded-Proto": "https"})
    assert public_base_url(event) == "https://abc.execute-api.eu-west-1.amazonaws.com/v1"


def test_base_url_on_a_root_mapped_domain_or_loopback_has_no_prefix():
    assert public_base_url(_event("/sessions", "/sessions", {"host": "127.0.0.1:8080",
                                                             "x-forwarded-proto": "http"})) == "http://127.0.0.1:8080"
    assert public_base_url(_event("/", "/tv/", {"Host": "api.example"})) == "https://api.example/tv"
