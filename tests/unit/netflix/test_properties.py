"""Property tests: the parsers fail only in their documented ways, and the CSV reader
accounts for every data row."""
from __future__ import annotations

import contextlib
import csv
import io
import re
from datetime import date

from hypothesis import given, settings, strategies as st

from tvreport.netflix.csv_reader import CsvFormatError, read_netflix_csv, read_netflix_csv_detailed
from tvreport.netflix.dates import detect_date_format, parse_date
from tvreport.netflix.titles import TitleError, parse_title

SETTINGS = settings(max_examples=200, deadline=None)

# Title pieces that exercise the rules: labels, colons, whitespace, empties.
TITLE_PIECES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["Season 1", "Series 2", "Kausi 3B", "Limited Series", "Minisarja", "Part 2", "Osa 1",
         "Luku 7", "Chapter One", "Jakso 4", "Pilot", "Show", "Show 2", "SHOW", "SEASON", "",
         " ", "\t", ":", "’", "Vol. 1"]
    ),
)
TITLES = st.one_of(
    st.text(),
    st.lists(TITLE_PIECES, max_size=6).map(": ".join),
    st.lists(TITLE_PIECES, max_size=6).map(":".join),
)


@SETTINGS
@given(TITLES)
def test_parse_title_fails_only_with_title_error(raw: str) -> None:
    try:
        parsed = parse_title(raw)
    except TitleError:
        return
    assert any(ch.isalnum() for ch in parsed.show)
    for field in (parsed.show, parsed.season, parsed.episode):
        assert field is None or (field == field.strip() and not re.search(r"\s\s|[\t\n\r]", field))
    if parsed.kind == "movie":
        assert (parsed.season, parsed.episode) == (None, None)
    else:
        assert parsed.season is not None or parsed.episode is not None


@SETTINGS
@given(st.lists(st.text(max_size=12), max_size=8), st.booleans())
def test_detect_and_parse_date_fail_only_in_documented_ways(values: list[str], day_first: bool) -> None:
    guess = detect_date_format(values, day_first)
    assert guess.reason
    if guess.fmt is None:
        return
    for value in values:
        with contextlib.suppress(ValueError):
            assert isinstance(parse_date(value, guess.fmt), date)


@SETTINGS
@given(st.text())
def test_read_netflix_csv_fails_only_with_csv_format_error(text: str) -> None:
    with contextlib.suppress(CsvFormatError):
        read_netflix_csv(text)


@SETTINGS
@given(st.text())
def test_anything_after_a_valid_header_is_read_without_error(body: str) -> None:
    result = read_netflix_csv("Title,Date\n" + body)
    assert all(row.line >= 2 for row in result.rejected)


DATE_FORMATS = ["%m/%d/%y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%y", "%Y-%m-%d"]
NOT_A_DATE = st.text(alphabet="abcxyz ./-", max_size=8).filter(lambda value: not any(c.isdigit() for c in value))


@st.composite
def exports(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, date | None]]]:
    """A quoted export in one date layout, some titles or dates broken; returns the
    text, the layout and each row's (title, date or None for junk)."""
    fmt = draw(st.sampled_from(DATE_FORMATS))
    rows: list[tuple[str, date | None]] = []
    for _ in range(draw(st.integers(0, 12))):
        title = draw(
            st.one_of(
                st.text(max_size=20),
                st.text(alphabet='ab ,"\t\r\n', max_size=10),  # quotes, commas, line breaks
                st.sampled_from(["Dark: Staffel 1: Alpha", "", " \t "]),
            )
        )
        when = draw(st.one_of(st.dates(date(2000, 1, 1), date(2030, 12, 31)), st.none()))
        rows.append((title, when))
    junk = draw(st.lists(NOT_A_DATE, min_size=len(rows), max_size=len(rows)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["Title", "Date"])
    for (title, when), junk_value in zip(rows, junk, strict=False):
        writer.writerow([title, when.strftime(fmt) if when else junk_value])
    return buffer.getvalue(), fmt, rows


def start_lines(text: str) -> list[int]:
    """1-based line each record starts on, counting \\r\\n, \\r and \\n as one break each,
    by re-reading the text one record at a time."""
    lines, offset, line = [], 0, 1
    reader_input = io.StringIO(text, newline="")
    reader = csv.reader(reader_input)
    for _ in reader:
        lines.append(line)
        consumed = reader_input.tell()
        line += len(re.findall(r"\r\n|\r|\n", text[offset:consumed]))
        offset = consumed
    return lines[1:]  # the header is not a data row


@SETTINGS
@given(exports())
def test_every_data_row_is_an_activity_or_a_rejection_on_its_line(export: tuple[str, str, list]) -> None:
    text, fmt, rows = export
    read = read_netflix_csv_detailed(text)
    result = read.result
    expected_lines = start_lines(text)
    assert len(expected_lines) == len(rows)

    assert len(result.activities) + len(result.rejected) == len(rows)
    assert sorted(read.activity_lines + [row.line for row in result.rejected]) == expected_lines
    for line, activity in zip(read.activity_lines, result.activities, strict=False):
        title, when = rows[expected_lines.index(line)]
        assert activity.title == " ".join(title.split())
        if result.date_format == fmt:
            assert activity.watched_on == when

    dated = [when for _, when in rows if when is not None]
    settling = bool(dated) and (fmt == "%Y-%m-%d" or any(when.day > 12 for when in dated))
    if settling:
        assert result.date_format == fmt
        assert result.date_format_ambiguous is False
