"""detect_date_format decides from the whole column; parse_date is strict."""
from __future__ import annotations

from datetime import date

import pytest

from tvreport.netflix.dates import DateFormatGuess, detect_date_format, parse_date


@pytest.mark.parametrize(
    ("column", "fmt", "parsed_first"),
    [
        (["2/5/19", "1/26/19", "12/31/18"], "%m/%d/%y", date(2019, 2, 5)),  # US, M/D/YY
        (["05/02/2019", "26/01/2019"], "%d/%m/%Y", date(2019, 2, 5)),  # UK, DD/MM/YYYY
        (["5.2.2019", "16.8.2022"], "%d.%m.%Y", date(2019, 2, 5)),  # Finnish, D.M.YYYY
        (["05-02-19", "31-12-18"], "%d-%m-%y", date(2019, 2, 5)),  # Dutch, DD-MM-YY
        (["2019-02-05", "2018-12-31"], "%Y-%m-%d", date(2019, 2, 5)),  # ISO
    ],
)
def test_each_layout_seen_in_real_exports(column: list[str], fmt: str, parsed_first: date) -> None:
    guess = detect_date_format(column)
    assert guess.fmt == fmt
    assert guess.ambiguous is False
    assert parse_date(column[0], guess.fmt) == parsed_first


def test_one_settling_value_anywhere_in_the_column_decides() -> None:
    column = ["01/02/2020"] * 500 + ["13/02/2020"]
    guess = detect_date_format(column)
    assert guess == DateFormatGuess("%d/%m/%Y", False, guess.reason)
    assert "'13/02/2020'" in guess.reason


def test_month_first_evidence_beats_a_day_first_preference() -> None:
    guess = detect_date_format(["1/2/19", "1/26/19"], prefer_day_first=True)
    assert (guess.fmt, guess.ambiguous) == ("%m/%d/%y", False)


@pytest.mark.parametrize(("prefer_day_first", "fmt"), [(False, "%m/%d/%Y"), (True, "%d/%m/%Y")])
def test_an_unsettled_column_follows_the_preference_and_says_so(prefer_day_first: bool, fmt: str) -> None:
    guess = detect_date_format(["01/02/2020", "03/04/2020", "12/12/2020"], prefer_day_first)
    assert guess.fmt == fmt
    assert guess.ambiguous is True
    assert "ambiguous" in guess.reason
    assert ("day-first" if prefer_day_first else "month-first") in guess.reason


def test_gandalf_dates_read_day_first_by_preference() -> None:
    """Gandalf documents DD/MM/YYYY; its path calls with prefer_day_first=True."""
    guess = detect_date_format(["03/04/2024", "01/02/2024"], prefer_day_first=True)
    assert parse_date("03/04/2024", guess.fmt or "") == date(2024, 4, 3)


def test_a_column_proven_both_ways_is_rejected() -> None:
    guess = detect_date_format(["13/01/2020", "01/13/2020", "02/02/2020"])
    assert guess.fmt is None
    assert guess.ambiguous is False
    assert "'13/01/2020'" in guess.reason and "'01/13/2020'" in guess.reason


@pytest.mark.parametrize(
    "column",
    [
        ["2/5/19", "2.5.19"],  # separators differ
        ["2/5/19", "2/5/2019"],  # year widths differ
        ["2019-02-05", "05-02-2019"],  # year position differs
    ],
)
def test_mixed_layouts_are_rejected(column: list[str]) -> None:
    guess = detect_date_format(column)
    assert guess.fmt is None
    assert "layouts" in guess.reason


def test_values_that_are_no_date_do_not_vote() -> None:
    guess = detect_date_format(["", "yesterday", "16.8.2022", "99.99.2022"])
    assert (guess.fmt, guess.ambiguous) == ("%d.%m.%Y", False)


def test_a_column_without_dates_has_no_format() -> None:
    guess = detect_date_format(["", "n/a", "2019"])
    assert guess.fmt is None
    assert guess.reason == "no value looks like a date"


def test_parse_date_tolerates_surrounding_whitespace() -> None:
    assert parse_date(" 16.8.2022\t", "%d.%m.%Y") == date(2022, 8, 16)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31.2.2022", "does not match"),  # no 31 February
        ("16/8/2022", "does not match"),
        ("", "missing date"),
        ("   ", "missing date"),
    ],
)
def test_parse_date_errors_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(value, "%d.%m.%Y")
