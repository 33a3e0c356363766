"""read_netflix_csv on both real exports and on the shapes exports take in the wild."""
from __future__ import annotations

import codecs
from datetime import date

import pytest

from tvreport.activity import Activity, RejectedRow
from tvreport.netflix.csv_reader import (
    CsvFormatError,
    read_netflix_csv,
    read_netflix_csv_bytes,
    read_netflix_csv_detailed,
)


def test_us_export_reads_every_row(us_export_text: str) -> None:
    result = read_netflix_csv(us_export_text)
    assert len(result.activities) == 913
    assert result.rejected == []
    assert (result.date_format, result.date_format_ambiguous) == ("%m/%d/%y", False)
    assert result.activities[0] == Activity("Gilmore Girls: Season 1: Pilot", date(2019, 2, 5))
    assert result.activities[-1].watched_on == date(2015, 11, 15)
    assert min(a.watched_on for a in result.activities) == date(2015, 11, 15)
    assert max(a.watched_on for a in result.activities) == date(2019, 2, 5)


def test_finnish_export_reads_every_row(fi_export_text: str) -> None:
    result = read_netflix_csv(fi_export_text)
    assert len(result.activities) == 793
    assert result.rejected == []
    assert (result.date_format, result.date_format_ambiguous) == ("%d.%m.%Y", False)
    assert result.activities[0] == Activity("Tapoin äsken isäni: Kausi 1: Big Bad Burt", date(2022, 8, 16))
    assert min(a.watched_on for a in result.activities) == date(2021, 8, 3)
    assert max(a.watched_on for a in result.activities) == date(2022, 8, 16)


def test_finnish_export_titles_lose_their_tabs(fi_export_text: str) -> None:
    assert fi_export_text.count("\t") == 13
    titles = [activity.title for activity in read_netflix_csv(fi_export_text).activities]
    assert not any("\t" in title for title in titles)
    assert "Titans: Kausi 1: Dick Grayson" in titles


def test_activity_lines_point_at_the_rows(us_export_text: str) -> None:
    read = read_netflix_csv_detailed(us_export_text)
    lines = us_export_text.splitlines()
    assert read.activity_lines[:2] == [2, 3]
    index = read.activity_lines.index(117)
    assert read.result.activities[index].title == "SHOW: SEASON: VideoEpisode"
    assert lines[116] == '"SHOW: SEASON: VideoEpisode","9/4/18"'


def test_bom_crlf_and_quoted_commas_and_newlines() -> None:
    text = '\ufeffTitle,Date\r\n"Crazy, Stupid, Love","2/5/19"\r\n"Two\r\nlines","1/26/19"\r\n"Next","1/1/19"\r\n'
    read = read_netflix_csv_detailed(text)
    assert [a.title for a in read.result.activities] == ["Crazy, Stupid, Love", "Two lines", "Next"]
    assert read.activity_lines == [2, 3, 5]


def test_header_columns_in_any_case_order_and_with_extras() -> None:
    result = read_netflix_csv('date , TITLE,Profile\n16.8.2022,Dark,me\n')
    assert result.activities == [Activity("Dark", date(2022, 8, 16))]


def test_bad_rows_are_rejected_with_their_lines_and_reasons() -> None:
    text = (
        "Title,Date\n"
        '"Good","13.1.2022"\n'  # 2
        '"No date",""\n'  # 3
        '"","14.1.2022"\n'  # 4
        '"Bad date","31.2.2022"\n'  # 5
        "\n"  # 6: blank, skipped
        '"Too many",fields,"1.1.2022"\n'  # 7
        '"Words","tomorrow"\n'  # 8
        '"Only title"\n'  # 9
    )
    result = read_netflix_csv(text)
    assert result.activities == [Activity("Good", date(2022, 1, 13))]
    assert [(row.line, row.reason) for row in result.rejected] == [
        (3, "missing date"),
        (4, "empty title"),
        (5, "date '31.2.2022' does not match the format '%d.%m.%Y'"),
        (7, "expected 2 fields, found 3"),
        (8, "date 'tomorrow' does not match the format '%d.%m.%Y'"),
        (9, "expected 2 fields, found 1"),
    ]
    assert result.rejected[1] == RejectedRow(4, "empty title", '"","14.1.2022"')


def test_empty_show_rows_keep_their_line_for_the_title_parser() -> None:
    """`" : Episode 1"` is a title, so the reader keeps it; parse_title rejects it."""
    read = read_netflix_csv_detailed('Title,Date\n"Dark: Staffel 1: Alpha","1/2/20"\n" : Episode 1","1/2/20"\n')
    assert read.activity_lines == [2, 3]
    assert read.result.activities[1].title == ": Episode 1"


def test_an_undecidable_date_column_rejects_every_row_with_the_reason() -> None:
    result = read_netflix_csv('Title,Date\n"A","13/01/2020"\n"B","01/13/2020"\n')
    assert result.activities == []
    assert result.date_format is None
    assert [row.line for row in result.rejected] == [2, 3]
    assert all("undecidable" in row.reason and "month-first" in row.reason for row in result.rejected)


@pytest.mark.parametrize(
    ("dates", "fmt", "first"),
    [
        (["01/02/19", "03/04/19"], "%m/%d/%y", date(2019, 1, 2)),  # US layout: month-first
        (["01/02/2019", "03/04/2019"], "%d/%m/%Y", date(2019, 2, 1)),  # UK layout
        (["1.2.2019", "3.4.2019"], "%d.%m.%Y", date(2019, 2, 1)),
        (["01-02-19", "03-04-19"], "%d-%m-%y", date(2019, 2, 1)),
    ],
)
def test_an_ambiguous_export_follows_netflix_locale_layouts(dates: list[str], fmt: str, first: date) -> None:
    text = "Title,Date\n" + "".join(f'"Show {i}","{value}"\n' for i, value in enumerate(dates))
    read = read_netflix_csv_detailed(text)
    assert (read.result.date_format, read.result.date_format_ambiguous) == (fmt, True)
    assert read.result.activities[0].watched_on == first
    assert read.date_guess is not None and "ambiguous" in read.date_guess.reason


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", '{"Title": "Dark", "Date": "1/2/20"}', '"Dark","1/2/20"\n', "Name,When\nDark,1/2/20\n"],
)
def test_input_without_the_header_is_a_format_error(text: str) -> None:
    with pytest.raises(CsvFormatError, match="header"):
        read_netflix_csv(text)


def test_a_header_only_file_is_empty_not_an_error() -> None:
    result = read_netflix_csv("Title,Date\n")
    assert (result.activities, result.rejected, result.date_format) == ([], [], None)


def test_an_oversized_field_is_a_rejected_row_not_a_crash() -> None:
    text = f'Title,Date\n"{"x" * 200_000}","1/2/20"\n"Dark","1/13/20"\n'
    result = read_netflix_csv(text)
    assert result.activities == [Activity("Dark", date(2020, 1, 13))]
    assert result.rejected[0].line == 2
    assert "field limit" in result.rejected[0].reason


@pytest.mark.parametrize(
    "data",
    [
        b'Title,Date\n"K\xc3\xa4rppi","16.8.2022"\n',
        codecs.BOM_UTF8 + b'Title,Date\n"K\xc3\xa4rppi","16.8.2022"\n',
        'Title,Date\n"Kärppi","16.8.2022"\n'.encode("utf-16"),
    ],
)
def test_bytes_in_utf8_with_or_without_bom_and_utf16(data: bytes) -> None:
    assert read_netflix_csv_bytes(data).activities == [Activity("Kärppi", date(2022, 8, 16))]


def test_undecodable_bytes_are_a_format_error() -> None:
    with pytest.raises(CsvFormatError, match="offset 13"):
        read_netflix_csv_bytes(b'Title,Date\n"K\xe4rppi","16.8.2022"\n')
