"""Viewing records on moto: a heavily rewatched show stays one bounded item with exact
statistics; DynamoDB's item-size refusal gets a clear reason."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from botocore.exceptions import ClientError

from tvreport import aws
from tvreport.repositories.viewing import ItemTooLarge, ViewingRepository, _item_size_error, play_key

AS_OF = date(2026, 6, 1)


def synthetic_rewatches(plays: int, seed: int = 7) -> set[str]:
    """`plays` distinct (day, episode) plays of one show over six years, 180 episodes."""
    rng = random.Random(seed)
    keys: set[str] = set()
    while len(keys) < plays:
        day = AS_OF - timedelta(days=rng.randrange(6 * 365))
        keys.add(play_key(day, f"{rng.randrange(1, 10)}|Episode {rng.randrange(1, 21)}"))
    return keys


def expected(plays: set[str]) -> tuple[int, int, int, date, date]:
    """The statistics computed the old way, from every play."""
    days = {p: date.fromisoformat(p.split("|", 1)[0]) for p in plays}
    year_ago = AS_OF - timedelta(days=365)
    recent = {p.split("|", 1)[1] for p, d in days.items() if year_ago < d <= AS_OF}
    return (len({p.split("|", 1)[1] for p in plays}), len(plays), len(recent), min(days.values()), max(days.values()))


def test_thirty_thousand_plays_fit_one_item_with_exact_statistics(moto_tables):
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    plays = synthetic_rewatches(30_000)
    assert sum(len(p) + 1 for p in plays) > 400 * 1024  # as a set of plays it could not be stored
    viewing.put_record("heavy", "friends", title="Friends", kind="show", plays=plays)
    record = viewing.records("heavy", as_of=AS_OF)[0]
    assert (record.episodes, record.plays, record.episodes_last_year, record.first_played,
            record.last_played) == expected(plays)
    item = aws.table(moto_tables["viewing"]).get_item(Key={"session_id": "heavy", "show_key": "friends"})["Item"]
    assert len(item["last_played_days"]) <= 6 * 365  # bounded by days, never by plays


def test_an_item_over_the_size_limit_is_named_as_such():
    # DynamoDB's answer to an item over 400 KB (botocore shape: Error.Code / Message)
    error = ClientError({"Error": {"Code": "ValidationException",
                                   "Message": "Item size has exceeded the maximum allowed size"}}, "PutItem")
    assert isinstance(_item_size_error(error), ItemTooLarge)
    other = ClientError({"Error": {"Code": "ValidationException", "Message": "One or more parameter values were invalid"}},
                        "PutItem")
    assert _item_size_error(other) is other


def test_moto_refuses_an_oversized_item_and_we_name_it(moto_tables):
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    with pytest.raises(ItemTooLarge):
        viewing.put_record("big", "x", title="X" * 500_000, kind="show", plays={"2024-01-01|1|Pilot"})


def test_a_redelivered_split_keeps_the_tmdb_match_written_since(moto_tables):
    """queryActivities delivered twice: the second copy's records must not erase what
    queryShowData matched in between (measured: a heavy run with doubled deliveries lost
    72 of 324 matches to a plain put)."""
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    plays = {play_key(date(2026, 1, 1), "S1E1")}
    viewing.put_record("s-1", "dark", title="Dark", kind="show", plays=plays)
    viewing.set_tmdb_id("s-1", "dark", 70523)
    viewing.put_record("s-1", "dark", title="Dark", kind="show", plays=plays)  # the late duplicate
    [record] = viewing.records("s-1", as_of=date(2026, 4, 1))
    assert record.tmdb_id == 70523
