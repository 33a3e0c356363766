"""Rotten Tomatoes crawler: series choice (never a movie), and the crawl over HTTP."""
from __future__ import annotations

import httpx
import pytest

from tests.unit.clients.support import parse_search_page, real_text
from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError
from tvreport.clients.http import USER_AGENT, make_http_client
from tvreport.clients.rottentomatoes import RottenTomatoesClient, choose_series
from tvreport.clients.rt_parser import RtScores, RtSearchResult

BASE = "https://rt.test"
DUNE = "rottentomatoes/yamtrack_search_dune_TRIMMED.html"
TOP_GUN = "rottentomatoes/pawelkrupinski_search_top_gun_2026.html"
YAMTRACK_SCORECARD = "rottentomatoes/yamtrack_scorecard_snippet_TRIMMED.html"

THE_OFFICE_RESULTS = [
    RtSearchResult(title="The Office", url="/m/the_office_movie", media_type="movie", release_year=2005),
    RtSearchResult(title="The Office", url="/tv/the_office_uk", media_type="tv", start_year=2001, cast=["Ricky Gervais", "Martin Freeman"]),
    RtSearchResult(title="The Office", url="/tv/the_office", media_type="tv", start_year=2005, cast=["Steve Carell", "Rainn Wilson"]),
    RtSearchResult(title="The Office Christmas Special", url="/tv/xmas", media_type="tv", start_year=2003),
]


# ---- choosing the series (pure) ----------------------------------------------


def test_dune_prophecy_is_the_tv_series_row():
    match = choose_series("Dune: Prophecy", 2024, [], parse_search_page(real_text(DUNE)))
    assert match is not None and match.path == "/tv/dune_prophecy" and match.tomatometer_score == 64


def test_a_movie_of_the_same_name_is_never_chosen():
    assert choose_series("Dune", 2021, [], parse_search_page(real_text(DUNE))) is None
    assert choose_series("Top Gun", 1986, ["Tom Cruise"], parse_search_page(real_text(TOP_GUN))) is None


@pytest.mark.parametrize(
    ("year", "cast", "expected"),
    [
        (2005, [], "/tv/the_office"),
        (2001, [], "/tv/the_office_uk"),
        (None, ["Ricky Gervais"], "/tv/the_office_uk"),
        (2005, ["Martin Freeman", "Ricky Gervais"], "/tv/the_office_uk"),  # cast outweighs a year
        (None, ["Someone Else"], "/tv/the_office_uk"),  # a tie keeps the page's order
    ],
)
def test_the_office_by_year_and_cast_overlap(year, cast, expected):
    assert choose_series("The Office", year, cast, THE_OFFICE_RESULTS).path == expected


def test_title_must_match_after_normalization():
    rows = [RtSearchResult(title="Lupin", url="/tv/lupin", media_type="tv", start_year=2021)]
    assert choose_series("LUPIN", 2021, [], rows).path == "/tv/lupin"
    assert choose_series("Lupin the Third", 2021, [], rows) is None
    assert choose_series("", None, [], rows) is None


# ---- the crawl over HTTP -----------------------------------------------------


class FakeRottenTomatoes:
    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        page = self.pages.get(request.url.path)
        return httpx.Response(200, text=page) if page is not None else httpx.Response(404, text="Not found")


def rt_with(pages: dict[str, str], retry) -> tuple[RottenTomatoesClient, FakeRottenTomatoes]:
    fake = FakeRottenTomatoes(pages)
    # A client made the way production makes it, with the test transport underneath.
    http = make_http_client("rottentomatoes", "", 5.0, transport=httpx.MockTransport(fake))
    return RottenTomatoesClient(BASE, http=http, retry=retry), fake


def test_find_scores_searches_picks_the_series_and_reads_its_page(retry):
    client, fake = rt_with({"/search": real_text(DUNE), "/tv/dune_prophecy": real_text(YAMTRACK_SCORECARD)}, retry)
    scores = client.find_scores("Dune: Prophecy", 2024, ["Emily Watson"])
    assert scores == RtScores(
        critics_score=83, audience_score=90, critics_reviews=480, audience_reviews=10000, certified=True,
        url=f"{BASE}/tv/dune_prophecy",
    )
    search, page = fake.requests
    assert search.url.params["search"] == "Dune: Prophecy"
    # The absolute link on the search page points at the real site; only our host is crawled.
    assert page.url.host == "rt.test" and page.url.path == "/tv/dune_prophecy"
    assert all(r.headers["User-Agent"] == USER_AGENT for r in fake.requests)


def test_no_series_means_none_and_no_page_fetch(retry):
    client, fake = rt_with({"/search": real_text(TOP_GUN)}, retry)
    assert client.find_scores("Top Gun", 1986, ["Tom Cruise"]) is None
    assert len(fake.requests) == 1


def test_a_series_page_that_is_gone_means_none(retry):
    client, _ = rt_with({"/search": real_text(DUNE)}, retry)
    assert client.find_scores("Dune: Prophecy", 2024, []) is None


# A bot-challenge page as CDNs serve it: HTTP 200, none of the site's markup.
CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<div id=\"challenge-running\">Checking if the site connection is secure</div>"
    "<noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)
NO_SCORE_PAGE = '<script type="application/ld+json">{"@type": "TVSeries", "name": "New Show"}</script>'


def test_a_challenge_page_in_place_of_a_show_page_is_a_retryable_failure(retry, sleep):
    client, fake = rt_with({"/tv/odd": CHALLENGE_PAGE}, retry)
    with pytest.raises(RetryableUpstreamError) as caught:
        client.scores("/tv/odd")
    assert (caught.value.code, caught.value.status, caught.value.attempts) == ("unrecognized_page", 200, 4)
    assert len(fake.requests) == 4 and len(sleep.waits) == 3


def test_a_challenge_page_in_place_of_a_search_page_is_never_not_found(retry):
    client, _ = rt_with({"/search": CHALLENGE_PAGE}, retry)
    with pytest.raises(RetryableUpstreamError):
        client.find_scores("Dune: Prophecy", 2024, [])


def test_a_real_page_without_a_score_is_an_answer_not_a_failure(retry):
    client, _ = rt_with({"/tv/new": NO_SCORE_PAGE}, retry)
    assert client.scores("/tv/new") == RtScores(url=f"{BASE}/tv/new")


def test_a_real_search_page_without_results_is_not_found(retry):
    empty = ('<search-page-header search-term="zzz"></search-page-header>'
             '<p data-qa="search-no-results">Sorry, no results found for this search.</p>')
    client, fake = rt_with({"/search": empty}, retry)
    assert client.find_scores("Zzz", None, []) is None and len(fake.requests) == 1


def test_the_real_top_gun_search_page_is_recognized(retry):
    client, _ = rt_with({"/search": real_text(TOP_GUN)}, retry)
    assert len(client.search("Top Gun")) == 6


def test_forbidden_search_is_permanent(retry):
    client = RottenTomatoesClient(BASE, http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(403))), retry=retry)
    with pytest.raises(PermanentUpstreamError) as caught:
        client.search("anything")
    assert caught.value.status == 403 and caught.value.service == "rottentomatoes"


def test_page_url_keeps_the_configured_host():
    client = RottenTomatoesClient(BASE + "/", http=httpx.Client())
    assert client.page_url("https://www.rottentomatoes.com/tv/lupin?x=1") == f"{BASE}/tv/lupin"
    assert client.page_url("tv/lupin") == f"{BASE}/tv/lupin"
