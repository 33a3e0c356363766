"""TMDB: real responses parsed exactly, best-match choice, the client's requests."""
from __future__ import annotations

import httpx
import pytest

from tests.unit.clients.support import ScriptedTransport, real_json
from tvreport.clients.errors import PermanentUpstreamError
from tvreport.clients.tmdb import (
    TmdbClient,
    TvSearchResult,
    choose_best_match,
    parse_aggregate_cast,
    parse_search_results,
    parse_tv_details,
)
from tvreport.records import CastMember

BASE = "https://tmdb.test"
V3_KEY = "0123456789abcdef0123456789abcdef"
V4_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ0ZXN0In0.c2lnbmF0dXJl"

BREAKING_BAD = "tmdb/c-eg_search_tv_breaking-bad.json"
GOT_SEARCH = "tmdb/jdrouet_search-tv_game-of-thrones.json"
RICK_AND_MORTY = "tmdb/jdrouet_search-tv_rick-and-morty.json"
LUPIN_SEARCH = "tmdb/moviebase_search_tv_lupin.json"
GOT_DETAILS = "tmdb/jdrouet_tv-details_1399_game-of-thrones.json"
LUPIN_DETAILS = "tmdb/moviebase_tv_details_96677_lupin_append.json"
SMALLVILLE_CREDITS = "tmdb/adamayoung_tv-series-aggregate-credits_4604_TRIMMED.json"


def search(fixture: str) -> list[TvSearchResult]:
    return parse_search_results(real_json(fixture))


# ---- search results and best match --------------------------------------------


def test_search_fixtures_parse_with_counts_names_and_years():
    assert [(r.id, r.name, r.first_air_year) for r in search(BREAKING_BAD)] == [(1396, "Breaking Bad", 2008)]
    got = search(GOT_SEARCH)
    assert [r.id for r in got] == [1399, 206584, 94997, 224372]
    assert got[3].first_air_year is None  # empty first_air_date
    assert [(r.id, r.popularity) for r in search(RICK_AND_MORTY)] == [(60625, 579.231), (202282, 11.777)]
    lupin = search(LUPIN_SEARCH)  # older shape, no `adult`
    assert len(lupin) == 15
    assert (lupin[6].id, lupin[6].name, lupin[6].original_name) == (31572, "Lupin the Third", "ルパン三世")


@pytest.mark.parametrize(
    ("fixture", "title", "year", "expected_id"),
    [
        (BREAKING_BAD, "Breaking Bad", None, 1396),
        (GOT_SEARCH, "Game of Thrones", None, 1399),
        (GOT_SEARCH, "House of the Dragon", None, 94997),
        (RICK_AND_MORTY, "Rick and Morty", None, 60625),
        (RICK_AND_MORTY, "Rick & Morty", None, 60625),
        (LUPIN_SEARCH, "Lupin", None, 96677),
        (LUPIN_SEARCH, "Arsène Lupin", None, 39214),  # the more popular of two
        (LUPIN_SEARCH, "Arsene Lupin", 1960, 121686),  # a year says otherwise
        (LUPIN_SEARCH, "ルパン三世", None, 31572),  # by original name
        (LUPIN_SEARCH, "ルパン三世 Part IV", None, 114618),  # CJK folded, not dropped
        (LUPIN_SEARCH, "Lupin the Third", None, 31572),
        (LUPIN_SEARCH, "Le Retour d’Arsène Lupin", None, 92665),  # curly apostrophe
    ],
)
def test_choose_best_match_on_real_searches(fixture, title, year, expected_id):
    match = choose_best_match(title, search(fixture), year)
    assert match is not None and match.id == expected_id


@pytest.mark.parametrize(
    ("fixture", "title"),
    [(GOT_SEARCH, "Westworld"), (GOT_SEARCH, "Game"), (RICK_AND_MORTY, "Morty"), (LUPIN_SEARCH, "Lupin III"), (LUPIN_SEARCH, "進撃の巨人")],
)
def test_no_title_match_means_no_match(fixture, title):
    assert choose_best_match(title, search(fixture)) is None


def test_the_office_popularity_unless_a_year_decides():
    results = [
        TvSearchResult(id=2316, name="The Office", first_air_year=2005, popularity=250.0, origin_country=["US"]),
        TvSearchResult(id=2996, name="The Office", first_air_year=2001, popularity=60.0, origin_country=["GB"]),
        TvSearchResult(id=9999, name="The Office Mix", first_air_year=2020, popularity=900.0),
    ]
    assert choose_best_match("The Office", results).id == 2316
    assert choose_best_match("The Office", results, year=2001).id == 2996
    assert choose_best_match("The Office", results, year=2006).id == 2316


def test_leading_article_only_as_a_fallback():
    results = [TvSearchResult(id=1, name="Office", popularity=5.0), TvSearchResult(id=2, name="The Office", popularity=1.0)]
    assert choose_best_match("Office", results).id == 1
    assert choose_best_match("The Office", results).id == 2
    assert choose_best_match("Crown", [TvSearchResult(id=65494, name="The Crown")]).id == 65494


# ---- details -----------------------------------------------------------------


def test_lupin_details_with_aggregate_credits():
    show = parse_tv_details(real_json(LUPIN_DETAILS))
    assert (show.tmdb_id, show.name, show.first_air_year) == (96677, "Lupin", 2021)
    assert show.genres == ["Crime", "Drama", "Mystery"]
    assert show.number_of_episodes == 5
    assert show.imdb_id == "tt2531336"
    assert show.poster_path == "/mevKJG6otv3FJEhsmp40ravG3tW.jpg"
    assert show.popularity == 183.04
    assert show.overview.startswith("Inspired by the adventures of Arsène Lupin")
    # 62 cast -> top 10 by episodes then billing: the lead (order 500) is kept.
    assert len(real_json(LUPIN_DETAILS)["aggregate_credits"]["cast"]) == 62
    assert len(show.cast) == 10
    assert show.cast[:2] == [
        CastMember(name="Shirine Boutella", character="Lieutenant Sofia Belkacem", episodes=5),
        CastMember(name="Vincent Londez", character="Captain Romain Laugier", episodes=5),
    ]
    assert CastMember(name="Omar Sy", character="Assane Diop", episodes=5) in show.cast
    assert [m.episodes for m in show.cast] == [5] * 7 + [4, 4, 3]
    assert show.cast[-1] == CastMember(name="Nicole Garcia", character="Mrs. Anne Pellegrini", episodes=3)
    assert show.fetched_at is not None


def test_game_of_thrones_details_without_appended_data():
    show = parse_tv_details(real_json(GOT_DETAILS))
    assert (show.tmdb_id, show.name, show.first_air_year) == (1399, "Game of Thrones", 2011)
    assert show.genres == ["Sci-Fi & Fantasy", "Drama", "Action & Adventure"]
    assert show.number_of_episodes == 73
    assert show.popularity == 639.898
    assert show.poster_path == "/1XS1oqL89opfnbLl8WnZY1O1uJx.jpg"
    assert show.imdb_id is None and show.cast == []


def test_trimmed_aggregate_credits_ranked_by_episodes():
    cast = parse_aggregate_cast(real_json(SMALLVILLE_CREDITS))
    assert cast == [
        CastMember(name="Tom Welling", character="Clark Kent", episodes=216),
        CastMember(name="Allison Mack", character="Chloe Sullivan", episodes=195),
        CastMember(name="Kristin Kreuk", character="Lana Lang", episodes=157),
        CastMember(name="Michael Rosenbaum", character="Lex Luthor", episodes=153),
    ]


def test_main_character_is_the_role_with_most_episodes_and_gaps_are_tolerated():
    payload = {
        "id": 1,
        "name": "Doctor Who",
        "first_air_date": "",
        "aggregate_credits": {
            "cast": [
                {
                    "name": "Actor A",
                    "order": 0,
                    "total_episode_count": 12,
                    "roles": [{"character": "Guest", "episode_count": 2}, {"character": "The Doctor", "episode_count": 10}],
                },
                {"name": "Actor B", "total_episode_count": 3},
                {"order": 1},  # no name: skipped
            ]
        },
    }
    show = parse_tv_details(payload)
    assert show.first_air_year is None and show.genres == [] and show.number_of_episodes is None
    assert show.cast == [CastMember("Actor A", "The Doctor", 12), CastMember("Actor B", "", 3)]


def test_plain_credits_when_no_aggregate():
    payload = {"id": 2, "name": "X", "credits": {"cast": [{"name": "B", "character": "Bee", "order": 1}, {"name": "A", "character": "Ay", "order": 0}]}}
    assert parse_tv_details(payload).cast == [CastMember("A", "Ay"), CastMember("B", "Bee")]


# ---- the client over HTTP -----------------------------------------------------


class FakeTmdb:
    """Routes TMDB paths to real fixture bodies and keeps the requests."""

    def __init__(self, routes: dict[str, object]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = self.routes.get(request.url.path)
        if body is None:
            return httpx.Response(404, json={"success": False, "status_code": 34})
        return httpx.Response(200, json=body)


def tmdb_with(routes: dict[str, object], api_key: str = V3_KEY, retry=None) -> tuple[TmdbClient, FakeTmdb]:
    fake = FakeTmdb(routes)
    return TmdbClient(BASE, api_key, http=httpx.Client(transport=httpx.MockTransport(fake)), retry=retry), fake


def test_lookup_by_search_uses_best_match_then_details_with_appended_credits(retry):
    client, fake = tmdb_with({"/3/search/tv": real_json(LUPIN_SEARCH), "/3/tv/96677": real_json(LUPIN_DETAILS)}, retry=retry)
    show = client.lookup("Lupin")
    assert show is not None and show.tmdb_id == 96677 and len(show.cast) == 10
    search_request, details_request = fake.requests
    assert search_request.url.params["query"] == "Lupin"
    assert details_request.url.params["append_to_response"] == "aggregate_credits,external_ids"
    assert all(r.url.params["api_key"] == V3_KEY and "Authorization" not in r.headers for r in fake.requests)


def test_lookup_by_imdb_id_is_exact(retry):
    found = {"movie_results": [], "tv_results": [{"id": 1399, "name": "Game of Thrones"}]}
    client, fake = tmdb_with({"/3/find/tt0944947": found, "/3/tv/1399": real_json(GOT_DETAILS)}, retry=retry)
    show = client.lookup("GoT (as Netflix spells it)", imdb_id="tt0944947")
    assert show is not None and show.tmdb_id == 1399
    assert fake.requests[0].url.params["external_source"] == "imdb_id"
    assert [r.url.path for r in fake.requests] == ["/3/find/tt0944947", "/3/tv/1399"]


def test_unknown_imdb_id_falls_back_to_search(retry):
    client, fake = tmdb_with(
        {"/3/find/tt0000001": {"tv_results": []}, "/3/search/tv": real_json(BREAKING_BAD), "/3/tv/1396": {"id": 1396, "name": "Breaking Bad"}},
        retry=retry,
    )
    assert client.find_by_imdb("tt0000001") is None
    show = client.lookup("Breaking Bad", imdb_id="tt0000001")
    assert show is not None and show.tmdb_id == 1396


def test_no_match_and_missing_details_give_none(retry):
    client, _ = tmdb_with({"/3/search/tv": real_json(GOT_SEARCH)}, retry=retry)
    assert client.lookup("Westworld") is None
    assert client.tv_details(424242) is None  # 404


def test_v4_read_token_goes_in_a_bearer_header(retry):
    client, fake = tmdb_with({"/3/search/tv": real_json(BREAKING_BAD)}, api_key=V4_TOKEN, retry=retry)
    assert [r.id for r in client.search_tv("Breaking Bad", first_air_year=2008)] == [1396]
    request = fake.requests[0]
    assert request.headers["Authorization"] == f"Bearer {V4_TOKEN}"
    assert "api_key" not in request.url.params
    assert request.url.params["first_air_date_year"] == "2008"


def test_unauthorized_is_permanent(retry):
    transport = ScriptedTransport(httpx.Response(401, json={"status_code": 7}))
    client = TmdbClient(BASE, V3_KEY, http=httpx.Client(transport=transport), retry=retry)
    with pytest.raises(PermanentUpstreamError) as caught:
        client.search_tv("x")
    assert caught.value.status == 401 and transport.calls == 1
