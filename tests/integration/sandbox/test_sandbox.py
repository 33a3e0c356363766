"""The Sandbox facade: three services, URLs, per-service faults and stats."""
from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from local.sandbox import Faults, Sandbox, viewer_from_netflix_csv
from tests.support.fixtures import REAL_FIXTURES

from .conftest import TMDB_KEY, TODAY, get_activity_body, sign


def test_sandbox_serves_all_three_services_with_a_generated_key(viewers):
    with Sandbox(
        faults_by_service={"rottentomatoes": Faults(error_rate=1.0)},
        tmdb_api_key=TMDB_KEY,
        viewers=viewers,
    ) as sandbox:
        assert sandbox.gandalf_url.endswith("/public/gql")
        assert not sandbox.tmdb_url.endswith("/3")
        key = ec.derive_private_key(int(sandbox.gandalf_private_key_hex, 16), ec.SECP256K1())
        body = get_activity_body("heavy", limit=5)
        page = httpx.post(sandbox.gandalf_url, content=body, headers={"X-Gandalf-Signature": sign(key, body)}).json()
        assert page["data"]["getActivity"]["total"] == len(viewers["heavy"])

        text = (REAL_FIXTURES / "netflix/simranvatsa_NetflixViewingHistory.csv").read_text(encoding="utf-8")
        sandbox.register_viewer("csv-viewer", viewer_from_netflix_csv(text))
        body = get_activity_body("csv-viewer", limit=1)
        page = httpx.post(sandbox.gandalf_url, content=body, headers={"X-Gandalf-Signature": sign(key, body)}).json()
        assert page["data"]["getActivity"]["total"] == 913

        assert httpx.get(f"{sandbox.tmdb_url}/3/tv/60625", params={"api_key": TMDB_KEY}).status_code == 200
        assert httpx.get(f"{sandbox.rotten_tomatoes_url}/tv/rick_and_morty").status_code in {500, 503}

        stats = sandbox.stats()
        assert stats["gandalf"] == {"requests": {"get_activity": 2}, "faults": {}}
        assert stats["tmdb"] == {"requests": {"tv": 1}, "faults": {}}
        assert stats["rottentomatoes"] == {"requests": {"tv_page": 1}, "faults": {"error": 1}}
    with pytest.raises(RuntimeError):
        sandbox.tmdb_url  # stopped


def test_sandbox_builds_default_viewers_for_today():
    sandbox = Sandbox(today=TODAY)
    assert set(sandbox.gandalf._viewers) == {"light", "typical", "heavy"}


def test_unknown_service_in_faults_is_rejected():
    with pytest.raises(ValueError, match="unknown sandbox services"):
        Sandbox(faults_by_service={"openai": Faults()}, viewers={})
