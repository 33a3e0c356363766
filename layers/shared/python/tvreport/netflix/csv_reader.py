"""Reader for Netflix's `NetflixViewingHistory.csv` export (`Title,Date`).

Every data row becomes an `Activity` or a `RejectedRow` carrying the 1-based physical
line the row starts on (a quoted title may span lines). Lines are ended by `\\n`,
`\\r\\n` or `\\r`, as the csv module sees them; blank lines are skipped. Only a missing
header (or input that is not text) raises `CsvFormatError`.
"""
from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tvreport.activity import Activity, HistoryReadResult, RejectedRow
from tvreport.netflix.dates import DateFormatGuess, detect_date_format, parse_date
from tvreport.netflix.titles import clean_whitespace
from tvreport.observability import logger

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_REQUIRED_COLUMNS = ("title", "date")
_RAW_LIMIT = 200  # characters of a rejected row kept for the report
# Netflix's US export is month-first with two-digit years (`2/5/19`); every other
# layout it writes (`05/02/2019`, `5.2.2019`, `05-02-19`) comes from day-first locales.
_MONTH_FIRST_LAYOUT = "%m/%d/%y"


class CsvFormatError(ValueError):
    """The input is not a Netflix viewing-history CSV (no `Title,Date` header)."""


@dataclass(frozen=True)
class _Record:
    line: int  # first physical line
    raw: str
    fields: list[str] | None  # None when the csv module could not read it
    error: str = ""


@dataclass
class NetflixCsvRead:
    """`read_netflix_csv_detailed`'s answer: the result plus what a summary needs."""

    result: HistoryReadResult
    activity_lines: list[int] = field(default_factory=list)  # one per activity, same order
    date_guess: DateFormatGuess | None = None


def _records(text: str) -> Iterator[_Record]:
    lines = _LINE.findall(text)
    reader = csv.reader(iter(lines), strict=False)
    start = 1
    while True:
        try:
            fields: list[str] | None = next(reader)
            error = ""
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            fields, error = None, f"unreadable CSV row: {exc}"
        end = reader.line_num
        raw = "".join(lines[start - 1 : end])
        if raw.strip():
            yield _Record(start, raw.rstrip("\r\n")[:_RAW_LIMIT], fields, error)
        start = end + 1


def _header_columns(record: _Record | None) -> tuple[dict[str, int], int]:
    """The index of each required column, and how many columns the header has."""
    if record is None:
        raise CsvFormatError("empty input: expected a 'Title,Date' header")
    names = [name.strip().lstrip("\ufeff").strip().casefold() for name in record.fields or []]
    columns = {name: index for index, name in reversed(list(enumerate(names)))}
    if not all(name in columns for name in _REQUIRED_COLUMNS):
        raise CsvFormatError(
            f"missing 'Title,Date' header: line {record.line} is {record.raw[:80]!r}"
        )
    return {name: columns[name] for name in _REQUIRED_COLUMNS}, len(names)


def _detect(date_values: list[str]) -> DateFormatGuess:
    guess = detect_date_format(date_values)
    if guess.ambiguous and guess.fmt != _MONTH_FIRST_LAYOUT:
        guess = detect_date_format(date_values, prefer_day_first=True)
        return DateFormatGuess(
            guess.fmt,
            True,
            f"{guess.reason}; day-first because Netflix writes month-first dates only as M/D/YY",
        )
    return guess


def read_netflix_csv_detailed(text: str) -> NetflixCsvRead:
    """Read an export, keeping each activity's line and the date-format guess."""
    records = _records(text.removeprefix("\ufeff"))
    columns, width = _header_columns(next(records, None))

    rejected: list[RejectedRow] = []
    rows: list[tuple[_Record, str, str]] = []  # (record, title, date text)
    for record in records:
        if record.fields is None:
            rejected.append(RejectedRow(record.line, record.error, record.raw))
        elif len(record.fields) != width:  # e.g. an unquoted comma in a title
            reason = f"expected {width} fields, found {len(record.fields)}"
            rejected.append(RejectedRow(record.line, reason, record.raw))
        else:
            rows.append((record, record.fields[columns["title"]], record.fields[columns["date"]]))

    guess = _detect([date_text for _, _, date_text in rows])
    read = NetflixCsvRead(HistoryReadResult(), date_guess=guess)
    for record, title, date_text in rows:
        title = clean_whitespace(title)
        if not title:
            rejected.append(RejectedRow(record.line, "empty title", record.raw))
            continue
        if guess.fmt is None:
            reason = f"date format of the file is undecidable: {guess.reason}"
            rejected.append(RejectedRow(record.line, reason, record.raw))
            continue
        try:
            watched_on = parse_date(date_text, guess.fmt)
        except ValueError as exc:
            rejected.append(RejectedRow(record.line, str(exc), record.raw))
            continue
        read.result.activities.append(Activity(title=title, watched_on=watched_on))
        read.activity_lines.append(record.line)

    read.result.rejected = sorted(rejected, key=lambda row: row.line)
    read.result.date_format = guess.fmt
    read.result.date_format_ambiguous = guess.ambiguous
    logger.info(
        "netflix csv read",
        extra={
            "activities": len(read.result.activities),
            "rejected": len(read.result.rejected),
            "date_format": guess.fmt,
            "date_format_ambiguous": guess.ambiguous,
        },
    )
    return read


def read_netflix_csv(text: str) -> HistoryReadResult:
    """Read a `NetflixViewingHistory.csv` export given as text (a BOM is tolerated).

    Raises `CsvFormatError` only when the first non-blank row is not a header with
    `Title` and `Date` columns (any order, any case, extra columns ignored)."""
    return read_netflix_csv_detailed(text).result


def decode_netflix_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 with a BOM as some spreadsheet tools save."""
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"not {encoding.removesuffix('-sig').upper()} text: undecodable byte at offset {exc.start}"
        ) from None


def read_netflix_csv_bytes(data: bytes) -> HistoryReadResult:
    """`read_netflix_csv` for the raw bytes of an upload."""
    return read_netflix_csv(decode_netflix_csv(data))
