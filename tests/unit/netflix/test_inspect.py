"""summarize_netflix_csv: the figures `python -m local inspect netflix-csv` prints,
checked against counts made by hand (grep) on the real exports."""
from __future__ import annotations

import json

import pytest

from local.netflix_inspect import summarize_netflix_csv
from tvreport.netflix.csv_reader import CsvFormatError


def test_us_export_summary(us_export_text: str) -> None:
    summary = summarize_netflix_csv(us_export_text)
    assert summary["rows_read"] == 913
    assert summary["rows_used"] == 912
    assert summary["rows_rejected"] == [
        {"line": 117, "reason": "title 'SHOW: SEASON: VideoEpisode' is Netflix's unfilled template row"}
    ]
    assert (summary["date_format"], summary["date_format_ambiguous"]) == ("%m/%d/%y", False)
    assert summary["reason"].startswith("month-first")
    # 803 titles with 3+ parts, less the template row, plus 4 two-part episodes
    # (Black Mirror: Bandersnatch, three John Mulaney specials).
    assert summary["episodes"] == 806
    assert summary["shows"] == 61
    # 97 one-part titles and 9 two-part movies, each distinct.
    assert summary["movies"] == 106
    assert summary["top_shows"][:4] == [
        {"show": "Friends", "episodes": 183},
        {"show": "Gilmore Girls", "episodes": 134},
        {"show": "Grey's Anatomy", "episodes": 81},
        {"show": "New Girl", "episodes": 48},
    ]
    assert len(summary["top_shows"]) == 10
    assert (summary["first_date"], summary["last_date"]) == ("2015-11-15", "2019-02-05")


def test_finnish_export_summary(fi_export_text: str) -> None:
    summary = summarize_netflix_csv(fi_export_text)
    assert (summary["rows_read"], summary["rows_used"], summary["rows_rejected"]) == (793, 793, [])
    assert (summary["date_format"], summary["date_format_ambiguous"]) == ("%d.%m.%Y", False)
    # 683 titles with 3+ parts plus 31 two-part episodes (Tiger King 7, The Society 10,
    # Häkkilinnut 4, Bodyguard 6, four single Jakso/Pilotti titles).
    assert summary["episodes"] == 714
    assert summary["shows"] == 61
    # 60 one-part titles and 19 two-part movies.
    assert summary["movies"] == 79
    assert summary["top_shows"][:3] == [
        {"show": "The Flash", "episodes": 151},
        {"show": "Riverdale", "episodes": 92},
        {"show": "S.W.A.T.", "episodes": 84},
    ]
    assert {"show": "Shadowhunters: The Mortal Instruments", "episodes": 17} in summary["top_shows"]
    assert (summary["first_date"], summary["last_date"]) == ("2021-08-03", "2022-08-16")


def test_summary_counts_rejections_from_both_reader_and_title_parser() -> None:
    text = (
        "Title,Date\n"
        '"Dark: Staffel 1: Alpha","1/13/20"\n'
        '" : Episode 1","1/14/20"\n'
        '"Dark: Staffel 1: Beta","not a date"\n'
        '"Dark: Staffel 1: Gamma","1/15/20"\n'
        '"Spider-Man: Homecoming","1/16/20"\n'
    )
    summary = summarize_netflix_csv(text)
    assert json.loads(json.dumps(summary)) == summary  # JSON-ready
    assert summary["rows_read"] == 5
    assert summary["rows_used"] == 3
    assert [row["line"] for row in summary["rows_rejected"]] == [3, 4]
    assert "no show name" in summary["rows_rejected"][0]["reason"]
    assert (summary["shows"], summary["movies"], summary["episodes"]) == (1, 1, 2)
    assert summary["top_shows"] == [{"show": "Dark", "episodes": 2}]
    assert (summary["first_date"], summary["last_date"]) == ("2020-01-13", "2020-01-16")


def test_show_spellings_are_merged_and_the_latest_spelling_shown() -> None:
    text = 'Title,Date\n"Grey’s Anatomy: Season 2: X","1/13/20"\n"Grey\'s Anatomy: Season 1: Y","1/14/20"\n'
    assert summarize_netflix_csv(text)["top_shows"] == [{"show": "Grey's Anatomy", "episodes": 2}]


def test_an_empty_history_summarizes_to_zeros() -> None:
    summary = summarize_netflix_csv("Title,Date\n")
    assert (summary["rows_read"], summary["shows"], summary["first_date"]) == (0, 0, None)


def test_missing_header_propagates() -> None:
    with pytest.raises(CsvFormatError):
        summarize_netflix_csv("hello")
