"""Rotten Tomatoes sandbox pages parse back with selectolax the way the real ones do."""
from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from local.sandbox.catalogue import Catalogue
from local.sandbox.rottentomatoes import RottenTomatoesSandbox


@pytest.fixture(scope="module")
def rt(catalogue: Catalogue) -> Iterator[httpx.Client]:
    with RottenTomatoesSandbox(catalogue) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def _rows(html: str, kind: str) -> list:
    return HTMLParser(html).css(f'search-page-result[type="{kind}"] search-page-media-row')


def test_search_rows_carry_the_catalogues_scores(rt, catalogue):
    response = rt.get("/search", params={"search": "The Office"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    rows = _rows(response.text, "tvSeries")
    by_year = {row.attributes["start-year"]: row for row in rows}
    assert set(by_year) == {"2001", "2005"}
    uk = by_year["2001"]
    expected = next(s for s in catalogue.find_by_title("The Office") if s.first_air_year == 2001).rotten_tomatoes
    assert uk.attributes["tomatometer-score"] == str(expected.critics_score)
    assert uk.attributes["tomatometer-is-certified"] == "true"
    assert uk.attributes["tomatometer-state"] == "certified-fresh"
    assert uk.attributes["tomatometer-sentiment"] == "POSITIVE"
    assert uk.attributes["release-year"] == "" and uk.attributes["end-year"] == "2003"
    assert uk.attributes["cast"].split(",")[0] == "Ricky Gervais"
    link = uk.css_first('a[slot="title"]')
    assert link.attributes["href"] == f"https://www.rottentomatoes.com/tv/{expected.slug}"
    assert link.text(strip=True) == "The Office"


def test_movies_come_in_their_own_group(rt):
    html = rt.get("/search", params={"search": "Spider-Man"}).text
    movies = _rows(html, "movie")
    assert [row.attributes["release-year"] for row in movies] == ["2018"]
    assert movies[0].css_first('a[slot="title"]').attributes["href"].startswith("https://www.rottentomatoes.com/m/")


def test_shows_without_a_page_and_unknown_titles_find_nothing(rt, catalogue):
    unrated = next(show for show in catalogue.shows if show.rotten_tomatoes is None and not show.tmdb_missing)
    for query in (unrated.title, "zzz no such show"):
        html = rt.get("/search", params={"search": query}).text
        assert HTMLParser(html).css("search-page-media-row") == []


def test_tv_page_has_scorecard_json_and_json_ld(rt, catalogue):
    show = catalogue.by_rt_slug["breaking_bad"]
    response = rt.get("/tv/breaking_bad")
    assert response.status_code == 200
    tree = HTMLParser(response.text)
    scorecard = json.loads(tree.css_first("script#media-scorecard-json").text())
    assert scorecard["criticsScore"]["score"] == str(show.rotten_tomatoes.critics_score)  # a string, as on RT
    assert scorecard["criticsScore"]["reviewCount"] == show.rotten_tomatoes.critics_reviews
    assert scorecard["criticsScore"]["certified"] is True
    assert scorecard["audienceScore"]["score"] == str(show.rotten_tomatoes.audience_score)
    json_ld = json.loads(tree.css_first('script[type="application/ld+json"]').text())
    assert json_ld["@type"] == "TVSeries"
    assert json_ld["aggregateRating"]["ratingValue"] == str(show.rotten_tomatoes.critics_score)
    assert json_ld["aggregateRating"]["ratingCount"] == show.rotten_tomatoes.critics_reviews


def test_unknown_slug_is_a_404_page(rt):
    response = rt.get("/tv/no_such_show")
    assert response.status_code == 404 and "Not Found" in response.text
