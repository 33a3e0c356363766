"""Rotten Tomatoes markup: every saved real page read with exact values, other known
markup shapes, and unknown markup that must never raise; and the CLI's page summary
(local.rt_inspect) over the same pages."""
from __future__ import annotations

import json

import pytest

from local.rt_inspect import summarize_rt_page
from tests.unit.clients.support import metric_count, parse_scores_page, parse_search_page, real_text
from tvreport.clients.rt_parser import RtScores, RtSearchResult, to_int

TOP_GUN = "rottentomatoes/pawelkrupinski_search_top_gun_2026.html"
DUNE = "rottentomatoes/yamtrack_search_dune_TRIMMED.html"
DARK_KNIGHT_SCORECARD = "rottentomatoes/pawelkrupinski_movie_scorecard_the_dark_knight_2026.html"
DARK_KNIGHT_JSON_LD = "rottentomatoes/pawelkrupinski_movie_the_dark_knight_jsonld_2026.html"
YAMTRACK_SCORECARD = "rottentomatoes/yamtrack_scorecard_snippet_TRIMMED.html"


# ---- search pages ------------------------------------------------------------


def test_top_gun_search_rows_with_hyphenated_attributes():
    rows = parse_search_page(real_text(TOP_GUN))
    assert [(r.title, r.release_year, r.tomatometer_score) for r in rows] == [
        ("Top Gun: Maverick", 2022, 96),
        ("Top Gun", 1986, 56),
        ("Top Gun", 1955, None),  # empty score
        ("Tomcat: Top Gun 2 Resurrecting the F-14", 2022, None),
        ("Tomcat: Top Gun 2 Resurrecting the F-14", 2022, None),
        ("Top Gun over Moscow", 1996, None),
    ]
    first = rows[0]
    assert first == RtSearchResult(
        title="Top Gun: Maverick",
        url="https://www.rottentomatoes.com/m/top_gun_maverick",
        media_type="movie",
        release_year=2022,
        start_year=None,
        end_year=None,
        tomatometer_score=96,
        tomatometer_state="POSITIVE",
        certified=True,
        cast=["Tom Cruise", "Miles Teller", "Jennifer Connelly"],
    )
    assert first.path == "/m/top_gun_maverick" and first.year == 2022
    assert rows[1].certified is False and rows[1].tomatometer_state == "NEGATIVE"
    assert rows[2].tomatometer_state is None and rows[3].cast == []
    assert all(r.media_type == "movie" for r in rows)  # no group element: from the /m/ path


def test_dune_search_groups_and_unhyphenated_attributes():
    rows = parse_search_page(real_text(DUNE))
    assert [(r.title, r.media_type, r.year, r.tomatometer_score) for r in rows] == [
        ("Dune: Part Two", "movie", 2024, 92),
        ("Dune", "movie", 2021, 83),
        ("Dune", "movie", 1984, 36),
        ("Jodorowsky's Dune", "movie", 2013, 97),  # &#39; decoded
        ("Dune: Prophecy", "tv", 2024, 64),
    ]
    prophecy = rows[-1]
    assert prophecy.path == "/tv/dune_prophecy"
    assert (prophecy.start_year, prophecy.release_year, prophecy.end_year) == (2024, None, None)


def test_group_type_wins_over_the_url_path():
    html = """<search-page-result type="tvSeries"><ul>
      <search-page-media-row startyear="2005" cast="Steve Carell, Rainn Wilson">
        <a href="/some/odd/path/the_office" slot="title">The Office</a>
      </search-page-media-row></ul></search-page-result>"""
    (row,) = parse_search_page(html)
    assert (row.media_type, row.start_year, row.cast) == ("tv", 2005, ["Steve Carell", "Rainn Wilson"])


def test_rows_without_a_link_are_skipped():
    assert parse_search_page("<search-page-media-row release-year='2020'></search-page-media-row>") == []
    assert parse_search_page("<html><body>no results</body></html>") == []


# ---- score pages -------------------------------------------------------------


def test_dark_knight_scorecard_json():
    assert parse_scores_page(real_text(DARK_KNIGHT_SCORECARD)) == RtScores(
        critics_score=94, audience_score=94, critics_reviews=338, audience_reviews=173380, certified=True
    )


def test_dark_knight_json_ld_aggregate_rating():
    assert parse_scores_page(real_text(DARK_KNIGHT_JSON_LD)) == RtScores(critics_score=94, critics_reviews=340)


def test_yamtrack_scorecard_snippet():
    scores = parse_scores_page(real_text(YAMTRACK_SCORECARD))
    assert (scores.critics_score, scores.critics_reviews, scores.audience_score, scores.certified) == (83, 480, 90, True)
    assert scores.audience_reviews == 10000  # "10,000+ Ratings": the band's lower bound


MEDIA_SCORECARD = """<media-scorecard>
  <rt-button slot="criticsScoreIcon"><score-icon-critics certified="false" sentiment="POSITIVE"></score-icon-critics></rt-button>
  <rt-button slot="criticsScore"><rt-text>78%</rt-text></rt-button>
  <rt-link slot="criticsReviews">41 Reviews</rt-link>
  <rt-text slot="audienceScore">65%</rt-text>
  <rt-link slot="audienceReviews">2,500+ Ratings</rt-link>
</media-scorecard>"""

SCORE_BOARD = """<score-board audiencescore="88" tomatometerscore="91" tomatometerstate="certified-fresh" rating="TV-MA">
  <h1 slot="title">Breaking Bad</h1></score-board>"""


def test_media_scorecard_element_slots():
    assert parse_scores_page(MEDIA_SCORECARD) == RtScores(
        critics_score=78, critics_reviews=41, audience_score=65, audience_reviews=2500, certified=False
    )


def test_older_score_board_attributes():
    assert parse_scores_page(SCORE_BOARD) == RtScores(critics_score=91, audience_score=88, certified=True)


def test_sources_fill_each_others_gaps_in_priority_order():
    json_ld = real_text(DARK_KNIGHT_JSON_LD)
    scorecard = '<script id="media-scorecard-json" type="application/json">{"criticsScore": {"score": "70"}}</script>'
    scores = parse_scores_page(scorecard + json_ld)
    assert (scores.critics_score, scores.critics_reviews) == (70, 340)


def test_hidden_audience_score_is_not_read():
    html = (
        '<script id="media-scorecard-json">{"hideAudienceScore": true,'
        ' "audienceScore": {"score": "50"}, "criticsScore": {"score": "", "reviewCount": 0}}</script>'
    )
    assert parse_scores_page(html) == RtScores(critics_reviews=0)


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><body><h1>Page moved</h1></body></html>",
        "<div class='scoreboard'>94%</div>",
        "\x00\xff<<<>>>",
    ],
)
def test_unknown_markup_gives_no_scores_and_a_metric(html):
    assert parse_scores_page(html) == RtScores()
    assert metric_count("RtMarkupUnknown") == 1


def test_broken_scorecard_json_falls_back_without_raising():
    html = '<script id="media-scorecard-json">{"criticsScore": </script>' + real_text(DARK_KNIGHT_JSON_LD)
    assert parse_scores_page(html) == RtScores(critics_score=94, critics_reviews=340)
    assert metric_count("RtMarkupUnknown") == 0


def test_scores_as_strings_numbers_or_percentages():
    assert [to_int(v) for v in ("94", 94, "94%", " 7 ", "", None, "n/a", True, 8.9)] == [94, 94, 94, 7, None, None, None, None, 8]


# ---- inspect summary ---------------------------------------------------------


def test_summary_of_a_search_page_is_json_ready():
    summary = summarize_rt_page(real_text(DUNE))
    assert summary["page_kind"] == "search"
    assert len(summary["results"]) == 5
    assert summary["results"][-1] == {
        "title": "Dune: Prophecy",
        "url": "https://www.rottentomatoes.com/tv/dune_prophecy",
        "path": "/tv/dune_prophecy",
        "media_type": "tv",
        "release_year": None,
        "start_year": 2024,
        "end_year": None,
        "year": 2024,
        "tomatometer_score": 64,
        "tomatometer_state": None,
        "certified": None,
        "cast": [],
    }
    json.dumps(summary)


@pytest.mark.parametrize(
    ("fixture", "critics", "audience", "sources"),
    [
        (DARK_KNIGHT_SCORECARD, 94, 94, ["media-scorecard-json"]),
        (DARK_KNIGHT_JSON_LD, 94, None, ["json-ld"]),
        (YAMTRACK_SCORECARD, 83, 90, ["media-scorecard-json"]),
    ],
)
def test_summary_of_score_pages(fixture, critics, audience, sources):
    summary = summarize_rt_page(real_text(fixture))
    assert summary["page_kind"] == "scores" and summary["sources"] == sources
    assert (summary["scores"]["critics_score"], summary["scores"]["audience_score"]) == (critics, audience)
    json.dumps(summary)


def test_summary_of_top_gun_and_of_an_unknown_page():
    top_gun = summarize_rt_page(real_text(TOP_GUN))
    assert top_gun["page_kind"] == "search" and [r["tomatometer_score"] for r in top_gun["results"]] == [96, 56, None, None, None, None]
    assert summarize_rt_page("<p>nothing here</p>") == {"page_kind": "unknown"}
