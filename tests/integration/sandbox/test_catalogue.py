"""The bundled catalogue: size, uniqueness, sane numbers, and the tricky titles."""
from __future__ import annotations

import json
from collections import Counter

from local.sandbox.catalogue import CATALOGUE_PATH, Catalogue
from local.sandbox.data.build_catalogue import build


def test_catalogue_json_is_built_from_the_sources():
    assert json.loads(CATALOGUE_PATH.read_text(encoding="utf-8")) == build()


def test_catalogue_is_large_enough_for_a_heavy_viewer(catalogue: Catalogue):
    assert len(catalogue.shows) >= 420
    assert len(catalogue.movies) >= 12


def test_ids_slugs_and_title_years_are_unique(catalogue: Catalogue):
    for key in (
        lambda show: show.tmdb_id,
        lambda show: (show.title, show.first_air_year),
    ):
        duplicates = [value for value, count in Counter(map(key, catalogue.shows)).items() if count > 1]
        assert duplicates == []
    imdb_ids = [show.imdb_id for show in catalogue.shows if show.imdb_id]
    slugs = [show.rotten_tomatoes.slug for show in catalogue.shows if show.rotten_tomatoes]
    assert len(imdb_ids) == len(set(imdb_ids))
    assert len(slugs) == len(set(slugs))


def test_synthetic_tmdb_ids_are_marked_and_out_of_the_real_range(catalogue: Catalogue):
    for show in catalogue.shows:
        assert show.tmdb_id_is_real == (show.tmdb_id < 9_000_000), show.title


def test_numbers_are_sane(catalogue: Catalogue):
    for show in catalogue.shows:
        assert 1 <= show.number_of_episodes <= 6_000, show.title
        assert all(member.episodes <= show.number_of_episodes for member in show.cast), show.title
        scripted = not set(show.genres) & {"Documentary", "Reality", "Talk", "News", "Kids"}
        assert not scripted or 3 <= len(show.cast) <= 6, show.title
        assert show.overview.endswith("."), show.title


def test_edge_cases_are_rare_but_present(catalogue: Catalogue):
    shows = len(catalogue.shows)
    missing = sum(show.tmdb_missing for show in catalogue.shows)
    without_rt = sum(show.rotten_tomatoes is None for show in catalogue.shows)
    assert 0.01 <= missing / shows <= 0.04
    assert 0.02 <= without_rt / shows <= 0.05


def test_same_name_pairs_are_distinct_shows(catalogue: Catalogue):
    for title, years in {
        "The Office": {2001, 2005},
        "House of Cards": {1990, 2013},
        "Shameless": {2004, 2011},
        "Skins": {2007, 2011},
    }.items():
        matches = catalogue.find_by_title(title)
        assert {show.first_air_year for show in matches} == years
        assert len({show.rotten_tomatoes.slug for show in matches}) == 2


def test_accented_and_original_titles_are_indexed(catalogue: Catalogue):
    assert catalogue.find_by_title("Elite")[0].title == "Élite"
    assert catalogue.find_by_title("La Casa de Papel")[0].title == "Money Heist"
    assert catalogue.by_imdb_id["tt2531336"].title == "Lupin"
    assert catalogue.by_rt_slug["breaking_bad"].tmdb_id == 1396
    assert any(": " in show.title for show in catalogue.shows)
