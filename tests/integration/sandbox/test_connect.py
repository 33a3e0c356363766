"""The Gandalf Connect stand-in over loopback HTTP: it reads the URL the API writes,
links a sandbox viewer under a fresh dataKey and sends the browser back with it."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from local.sandbox import Sandbox
from tvreport.connect import connect_url, public_key_hex

from .conftest import get_activity_body, sign

REDIRECT = "http://127.0.0.1:9/sessions/s-1/callback"


@pytest.fixture(scope="module")
def sandbox(viewers):
    with Sandbox(viewers=viewers) as running:
        yield running


def _url(sandbox: Sandbox, public_key: str | None = None) -> str:
    return connect_url(sandbox.connect_url, public_key or public_key_hex(sandbox.gandalf_private_key_hex), REDIRECT)


def test_the_page_offers_the_viewer_profiles_for_a_valid_connect_url(sandbox):
    page = httpx.get(_url(sandbox))

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for profile in ("light", "typical", "heavy"):
        assert f"Link the {profile} viewer" in page.text


@pytest.mark.parametrize("change, message", [
    ({"publicKey": "0x02" + "ab" * 32}, "not a registered app"),
    ({"data": "not-base64!"}, "data must be base64"),
    ({"data": "eyJ1YmVyIjp0cnVlfQ=="}, "no Netflix"),  # {"uber":true}
    ({"redirectUrl": "javascript:alert(1)"}, "http(s) URL"),
    ({"publicKey": None}, "needs publicKey"),
])
def test_a_bad_connect_url_gets_a_400_that_says_why(sandbox, change, message):
    query = {k: v[0] for k, v in parse_qs(urlsplit(_url(sandbox)).query).items()}
    query.update(change)
    page = httpx.get(sandbox.connect_url, params={k: v for k, v in query.items() if v is not None})

    assert page.status_code == 400 and message in page.text


def test_linking_redirects_with_a_fresh_data_key_that_the_gandalf_sandbox_serves(sandbox, viewers):
    query = {k: v[0] for k, v in parse_qs(urlsplit(_url(sandbox)).query).items()}

    response = httpx.post(f"{sandbox.connect_url}/link", data={**query, "viewer": "light"})

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    data_key = parse_qs(location.query)["dataKey"][0]
    assert data_key not in viewers and len(data_key) >= 24
    key = ec.derive_private_key(int(sandbox.gandalf_private_key_hex, 16), ec.SECP256K1())
    body = get_activity_body(data_key, limit=1)
    page = httpx.post(sandbox.gandalf_url, content=body, headers={"X-Gandalf-Signature": sign(key, body)}).json()
    assert page["data"]["getActivity"]["total"] == len(viewers["light"])
    assert sandbox.connect.linked[-1] == "light"


def test_linking_an_unknown_viewer_is_refused(sandbox):
    query = {k: v[0] for k, v in parse_qs(urlsplit(_url(sandbox)).query).items()}
    response = httpx.post(f"{sandbox.connect_url}/link", data={**query, "viewer": "nobody"})
    assert response.status_code == 400
