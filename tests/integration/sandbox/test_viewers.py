"""Viewer profiles and Netflix CSV viewers, in Gandalf's Activity shape."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from local.sandbox.catalogue import Catalogue
from local.sandbox.viewers import build_viewer, viewer_from_netflix_csv
from tests.support.fixtures import REAL_FIXTURES
from tvreport.netflix.titles import parse_title, series_names

from .conftest import TODAY


def _dates(viewer: list[dict]) -> list[date]:
    return [datetime.strptime(item["metadata"]["date"], "%d/%m/%Y").date() for item in viewer]


def _distinct_shows(viewer: list[dict]) -> set[str]:
    titles = [item["metadata"]["title"] for item in viewer]
    series = series_names(titles)
    parsed = (parse_title(title, series) for title in titles)
    return {title.show for title in parsed if title.kind == "episode"}


def test_profile_sizes(viewers: dict[str, list[dict]]):
    sizes = {name: (len(viewer), len(_distinct_shows(viewer))) for name, viewer in viewers.items()}
    assert 250 <= sizes["light"][0] <= 350 and 20 <= sizes["light"][1] <= 30
    assert 1_300 <= sizes["typical"][0] <= 1_700 and 70 <= sizes["typical"][1] <= 90
    assert sizes["heavy"][0] >= 5_000 and sizes["heavy"][1] >= 320


def test_profiles_are_deterministic(viewers: dict[str, list[dict]], catalogue: Catalogue):
    assert build_viewer("typical", TODAY, catalogue) == viewers["typical"]
    assert build_viewer("typical", TODAY + timedelta(days=1), catalogue) != viewers["typical"]


def test_activities_have_gandalf_shape_and_ids(viewers: dict[str, list[dict]], catalogue: Catalogue):
    heavy = viewers["heavy"]
    assert len({item["id"] for item in heavy}) == len(heavy)
    for item in heavy[:50]:
        metadata = item["metadata"]
        assert metadata["__typename"] == "NetflixActivityMetadata"
        for identifier in metadata["subject"]:
            assert identifier["identifierType"] in {"IMDB", "TVDB"}
    imdb_ids = {i["value"] for item in heavy for i in item["metadata"]["subject"] if i["identifierType"] == "IMDB"}
    assert imdb_ids <= set(catalogue.by_imdb_id)
    # A few movies ride along, without identifiers.
    movie_titles = {movie.title for movie in catalogue.movies}
    assert 5 <= sum(item["metadata"]["title"] in movie_titles for item in heavy) <= 20


def test_dates_cover_four_years_up_to_today(viewers: dict[str, list[dict]]):
    dates = _dates(viewers["heavy"])
    assert dates == sorted(dates, reverse=True)  # newest first
    assert max(dates) <= TODAY and min(dates) >= TODAY - timedelta(days=4 * 366)
    last_year = sum(day > TODAY - timedelta(days=365) for day in dates)
    assert 0.1 <= last_year / len(dates) <= 0.5


def test_obscure_titles_carry_no_identifier(viewers: dict[str, list[dict]], catalogue: Catalogue):
    obscure = {show.title for show in catalogue.shows if show.tmdb_missing}
    watched = [item for item in viewers["heavy"] if item["metadata"]["title"].split(":")[0] in obscure]
    assert watched, "the heavy viewer watches some obscure titles"
    assert all(item["metadata"]["subject"] == [] for item in watched)


def test_netflix_csv_becomes_a_viewer():
    text = (REAL_FIXTURES / "netflix/simranvatsa_NetflixViewingHistory.csv").read_text(encoding="utf-8")
    viewer = viewer_from_netflix_csv(text)
    assert len(viewer) == 913
    first = viewer[0]["metadata"]
    assert first["title"] == "Gilmore Girls: Season 1: Pilot"
    assert first["date"] == "05/02/2019"  # the export's 2/5/19 (M/D/YY), re-emitted DD/MM/YYYY
    assert first["subject"][0] == {"__typename": "Identifier", "value": "tt0238784", "identifierType": "IMDB"}
    assert any(item["metadata"]["subject"] == [] for item in viewer)  # titles the catalogue lacks


def test_finnish_csv_dates_are_reemitted_day_first():
    text = (REAL_FIXTURES / "netflix/JustAuramo_NetflixViewingHistory_fi.csv").read_text(encoding="utf-8")
    viewer = viewer_from_netflix_csv(text)
    assert len(viewer) >= 780
    assert all(len(day) == 10 and day[2] == day[5] == "/" for day in (item["metadata"]["date"] for item in viewer))
