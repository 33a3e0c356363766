"""TMDB sandbox over HTTP: v3 shapes for search, details (+appends), find, and auth."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.sandbox.catalogue import Catalogue
from local.sandbox.tmdb import TmdbSandbox
from tests.support.fixtures import REAL_FIXTURES

from .conftest import TMDB_KEY

SEARCH_KEYS = set(
    httpx.Response(200, content=(REAL_FIXTURES / "tmdb/c-eg_search_tv_breaking-bad.json").read_bytes())
    .json()["results"][0]
)


@pytest.fixture(scope="module")
def tmdb(catalogue: Catalogue) -> Iterator[httpx.Client]:
    with TmdbSandbox(catalogue, api_key=TMDB_KEY) as server:
        with httpx.Client(base_url=server.url, params={"api_key": TMDB_KEY}, timeout=5) as client:
            yield client


def test_search_results_have_tmdbs_shape_and_order(tmdb):
    payload = tmdb.get("/3/search/tv", params={"query": "the office"}).json()
    assert payload["page"] == 1 and payload["total_results"] == 2 and payload["total_pages"] == 1
    results = payload["results"]
    assert set(results[0]) == SEARCH_KEYS  # same keys as a real response
    assert [(r["name"], r["first_air_date"][:4]) for r in results] == [("The Office", "2005"), ("The Office", "2001")]
    assert results[0]["id"] == 2316 and 35 in results[0]["genre_ids"]


def test_search_narrows_by_year_and_matches_fuzzily(tmdb):
    by_year = tmdb.get("/3/search/tv", params={"query": "The Office", "first_air_date_year": 2001}).json()
    assert [r["id"] for r in by_year["results"]] == [2996]
    names = [r["name"] for r in tmdb.get("/3/search/tv", params={"query": "narcos"}).json()["results"]]
    assert {"Narcos", "Narcos: Mexico"} <= set(names)
    accented = tmdb.get("/3/search/tv", params={"query": "elite"}).json()["results"]
    assert accented[0]["name"] == "Élite"


def test_obscure_titles_are_never_found(tmdb, catalogue):
    obscure = next(show for show in catalogue.shows if show.tmdb_missing)
    assert tmdb.get("/3/search/tv", params={"query": obscure.title}).json()["total_results"] == 0
    assert tmdb.get(f"/3/tv/{obscure.tmdb_id}").status_code == 404


def test_details_with_aggregate_credits_and_external_ids(tmdb, catalogue):
    response = tmdb.get("/3/tv/1396", params={"append_to_response": "aggregate_credits,external_ids"})
    details = response.json()
    show = catalogue.by_tmdb_id[1396]
    assert details["name"] == "Breaking Bad" and details["number_of_episodes"] == 62
    assert details["number_of_seasons"] == 5
    assert {"id": 18, "name": "Drama"} in details["genres"]
    assert details["external_ids"]["imdb_id"] == "tt0903747"
    cast = details["aggregate_credits"]["cast"]
    assert [member["name"] for member in cast] == [member.name for member in show.cast]
    walter = cast[0]
    assert walter["roles"][0] == {**walter["roles"][0], "character": "Walter White", "episode_count": 62}
    assert walter["total_episode_count"] == 62 and walter["order"] == 0
    assert walter["known_for_department"] == "Acting"


def test_details_without_appends_and_unknown_ids(tmdb):
    details = tmdb.get("/3/tv/1399").json()
    assert "aggregate_credits" not in details and "external_ids" not in details
    missing = tmdb.get("/3/tv/1")
    assert missing.status_code == 404 and missing.json()["status_code"] == 34


def test_find_by_imdb_id(tmdb):
    found = tmdb.get("/3/find/tt2531336", params={"external_source": "imdb_id"}).json()
    assert [r["id"] for r in found["tv_results"]] == [96677] and found["movie_results"] == []
    nothing = tmdb.get("/3/find/tt0000001", params={"external_source": "imdb_id"}).json()
    assert nothing["tv_results"] == []


def test_bearer_token_works_and_bad_keys_get_401(tmdb):
    base = str(tmdb.base_url)
    bearer = httpx.get(f"{base}/3/tv/1396", headers={"Authorization": f"Bearer {TMDB_KEY}"})
    assert bearer.status_code == 200
    for response in (
        httpx.get(f"{base}/3/tv/1396"),
        httpx.get(f"{base}/3/search/tv", params={"query": "lost", "api_key": "wrong"}),
        httpx.get(f"{base}/3/find/tt0903747", headers={"Authorization": "Bearer wrong"}),
    ):
        assert response.status_code == 401
        assert response.json() == {
            "success": False,
            "status_code": 7,
            "status_message": "Invalid API key: You must be granted a valid key.",
        }
