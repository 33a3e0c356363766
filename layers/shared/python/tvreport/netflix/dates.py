"""Date-format detection for a whole history column, and strict date parsing.

Netflix writes dates in the account's locale (`2/5/19`, `05/02/2019`, `5.2.2019`,
`05-02-19`, `2019-02-05`), and Gandalf documents `DD/MM/YYYY` while apps have read it
month-first. One value rarely settles day vs month, a column usually does: a first
field above 12 proves day-first, a second field above 12 proves month-first. When no
value settles it, the caller's preference wins and the guess says it is ambiguous.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

_YEAR_LAST = re.compile(r"([0-9]{1,2})([./-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")
_YEAR_FIRST = re.compile(r"([0-9]{4})([./-])([0-9]{1,2})\2([0-9]{1,2})")


@dataclass(frozen=True)
class DateFormatGuess:
    fmt: str | None  # a strptime format such as "%m/%d/%y"; None when undecidable
    ambiguous: bool  # True when day vs month came from the preference, not the data
    reason: str


@dataclass(frozen=True)
class _Shape:
    """What a value's layout says, apart from day vs month order."""

    year_first: bool
    separator: str
    year_digits: int


@dataclass(frozen=True)
class _Reading:
    shape: _Shape
    first: int  # the first of the two non-year fields
    second: int


def _read(value: str) -> _Reading | None:
    text = value.strip()
    if match := _YEAR_FIRST.fullmatch(text):
        year, separator, first, second = match.groups()
        return _Reading(_Shape(True, separator, len(year)), int(first), int(second))
    if match := _YEAR_LAST.fullmatch(text):
        first, separator, second, year = match.groups()
        return _Reading(_Shape(False, separator, len(year)), int(first), int(second))
    return None


def _format(shape: _Shape, day_first: bool) -> str:
    year = "%Y" if shape.year_digits == 4 else "%y"
    fields = [year, "%m", "%d"] if shape.year_first else (
        ["%d", "%m", year] if day_first else ["%m", "%d", year]
    )
    return shape.separator.join(fields)


def detect_date_format(values: Iterable[str], prefer_day_first: bool = False) -> DateFormatGuess:
    """Decide one strptime format for a whole column of dates.

    Values that look like no date are left out (the row is rejected later, when
    parsed). Mixed layouts (separators, year position or width) or a column that proves
    both day-first and month-first give `fmt=None`; the reason says which values.
    """
    readings = [(value, reading) for value in values if (reading := _read(value))]
    if not readings:
        return DateFormatGuess(None, False, "no value looks like a date")
    shapes = Counter(reading.shape for _, reading in readings)
    if len(shapes) > 1:
        examples = {reading.shape: value.strip() for value, reading in readings}
        shown = ", ".join(repr(example) for example in examples.values())
        return DateFormatGuess(None, False, f"dates are written in {len(shapes)} layouts: {shown}")
    shape = readings[0][1].shape
    if shape.year_first:
        return DateFormatGuess(_format(shape, True), False, f"year-first dates such as {readings[0][0].strip()!r}")

    # A value with both fields above 12 is no date at all; it proves nothing.
    day_first = [v.strip() for v, r in readings if r.first > 12 >= r.second]
    month_first = [v.strip() for v, r in readings if r.second > 12 >= r.first]
    if day_first and month_first:
        return DateFormatGuess(
            None,
            False,
            f"{len(day_first)} dates are day-first (e.g. {day_first[0]!r}) and "
            f"{len(month_first)} month-first (e.g. {month_first[0]!r})",
        )
    if day_first:
        return DateFormatGuess(
            _format(shape, True),
            False,
            f"day-first: {len(day_first)} dates have a first field above 12 (e.g. {day_first[0]!r})",
        )
    if month_first:
        return DateFormatGuess(
            _format(shape, False),
            False,
            f"month-first: {len(month_first)} dates have a second field above 12 (e.g. {month_first[0]!r})",
        )
    order = "day-first" if prefer_day_first else "month-first"
    return DateFormatGuess(
        _format(shape, prefer_day_first),
        True,
        f"ambiguous: no date has a field above 12, so {order} was assumed by preference",
    )


def parse_date(value: str, fmt: str) -> date:
    """Parse `value` with strptime `fmt` (surrounding whitespace ignored)."""
    text = value.strip()
    if not text:
        raise ValueError("missing date")
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise ValueError(f"date {text[:40]!r} does not match the format {fmt!r}") from None
