"""Grouping raw activities into per-show play sets."""
from datetime import date

from tvreport.stages.history import chunk, group_plays


def test_episodes_group_by_show_and_movies_stay_movies():
    grouped, rejected = group_plays([
        ("Dark: Season 1: Secrets", date(2024, 1, 2), "tt5753856"),
        ("Dark: Season 1: Secrets", date(2024, 1, 2), None),  # the same play twice: one play
        ("Dark: Season 1: Lies", date(2024, 1, 3), None),
        ("Spider-Man: Homecoming", date(2024, 1, 4), None),
        (" : Episode 1", date(2024, 1, 5), None),
    ])
    assert rejected == 1
    assert set(grouped) == {"dark", "movie:spider man homecoming"}
    assert grouped["dark"].kind == "show" and grouped["dark"].imdb_id == "tt5753856"
    assert grouped["dark"].plays == {"2024-01-02|Season 1|Secrets", "2024-01-03|Season 1|Lies"}
    assert grouped["movie:spider man homecoming"].kind == "movie"


def test_chunks_keep_order_and_size():
    assert chunk(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert chunk([], 50) == []
