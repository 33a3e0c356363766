"""Viewing records: one item per (session, show or movie), plus the raw history pages
of a session while it is read.

A record holds a summary of its plays, not the plays: counts, first and last played, plays per month,
and per day the number of episodes last played that day (what "episodes in the last
12 months" needs). Its size is bounded by the days in the history, never by the plays
(a show rewatched 30,000 times would not fit DynamoDB's 400 KB item as a set of
plays). Records are written once per session from the whole history: a conditional
put, so a redelivered split never rewrites a record that queryShowData has since
matched to its TMDB show (a plain put would erase the match)."""
from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from tvreport import aws
from tvreport.records import ViewingRecord
from tvreport.repositories._dynamo import batch_delete, expires_at, utc_now
from tvreport.schema import TTL_ATTRIBUTE

RAW_SUFFIX = "#raw"  # partition of a session's raw history pages
Activity = tuple[str, str, str | None]  # (raw title, raw date, IMDB id)


class ItemTooLarge(Exception):
    """DynamoDB refused an item over its 400 KB limit."""


def play_key(watched_on: date, episode: str) -> str:
    return f"{watched_on.isoformat()}|{episode}"


def summarize_plays(plays: Iterable[str]) -> dict[str, Any]:
    """A set of "YYYY-MM-DD|<episode>" play keys -> the stored summary."""
    last_by_episode: dict[str, str] = {}
    days: list[str] = []
    for play in plays:
        day, episode = play.split("|", 1)
        days.append(day)
        if day > last_by_episode.get(episode, ""):
            last_by_episode[episode] = day
    last_played_days: dict[str, int] = {}
    for day in last_by_episode.values():
        last_played_days[day] = last_played_days.get(day, 0) + 1
    return {"play_count": len(days), "episode_count": len(last_by_episode), "first_played": min(days),
            "last_played": max(days), "last_played_days": last_played_days,
            "plays_by_month": dict(Counter(day[:7] for day in days))}  # bounded by months, for the chart


class ViewingRepository:
    def __init__(self, table_name: str, ttl_days: int):
        self._name = table_name
        self._ttl_days = ttl_days

    @property
    def _table(self):
        return aws.table(self._name)

    def put_record(self, session_id: str, show_key: str, *, title: str, kind: str, plays: set[str],
                   imdb_id: str | None = None) -> None:
        item: dict[str, Any] = {"session_id": session_id, "show_key": show_key, "title": title, "kind": kind,
                                **summarize_plays(plays), TTL_ATTRIBUTE: expires_at(utc_now(), self._ttl_days)}
        if imdb_id:
            item["imdb_id"] = imdb_id
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(show_key)")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # written by an earlier delivery of the same split: the same summary
            raise _item_size_error(error) from error

    # The name from when plays were a set added to; a record is now written whole.
    add_plays = put_record

    def set_tmdb_id(self, session_id: str, show_key: str, tmdb_id: int) -> None:
        self._table.update_item(Key={"session_id": session_id, "show_key": show_key},
                                UpdateExpression="SET tmdb_id = :id",
                                ConditionExpression="attribute_exists(session_id)",
                                ExpressionAttributeValues={":id": tmdb_id})

    # -- raw history pages -----------------------------------------------------------
    def put_raw_page(self, session_id: str, page: int, activities: list[Activity]) -> None:
        """One history page as fetched, kept until the whole history is in and decided
        at once (date format, series vs film, rejected rows)."""
        body = zlib.compress(json.dumps(activities, ensure_ascii=False).encode())
        item = {"session_id": session_id + RAW_SUFFIX, "show_key": f"page#{page:06d}", "page": page,
                "activities": body, TTL_ATTRIBUTE: expires_at(utc_now(), self._ttl_days)}
        try:
            self._table.put_item(Item=item)
        except ClientError as error:
            raise _item_size_error(error) from error

    def raw_pages(self, session_id: str) -> dict[int, list[Activity]]:
        return {int(item["page"]): [tuple(a) for a in json.loads(zlib.decompress(bytes(item["activities"])))]
                for item in self._query(session_id + RAW_SUFFIX)}

    def raw_page_numbers(self, session_id: str) -> set[int]:
        return {int(item["page"]) for item in self._query(session_id + RAW_SUFFIX, projection="page")}

    # -- reading ---------------------------------------------------------------------
    def _query(self, partition: str, projection: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("session_id").eq(partition), "ConsistentRead": True}
        if projection:
            kwargs["ProjectionExpression"] = projection
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def records(self, session_id: str, as_of: date) -> list[ViewingRecord]:
        """The session's records, in show-key order; `as_of` is the day its "last 12
        months" end (only episodes_last_year depends on it)."""
        return [to_record(item, as_of) for item in self._query(session_id)]

    def delete_session(self, session_id: str) -> int:
        keys = [{"session_id": i["session_id"], "show_key": i["show_key"]}
                for partition in (session_id, session_id + RAW_SUFFIX)
                for i in self._query(partition, projection="session_id, show_key")]
        return batch_delete(self._table, keys)


def _item_size_error(error: ClientError) -> Exception:
    """DynamoDB answers an item over 400 KB with a ValidationException whose message
    says so; anything else is passed on as it came."""
    message = error.response.get("Error", {}).get("Message", "")
    if error.response.get("Error", {}).get("Code") == "ValidationException" and "size" in message.lower():
        return ItemTooLarge(message)
    return error


def to_record(item: dict[str, Any], as_of: date) -> ViewingRecord:
    year_ago = (as_of - timedelta(days=365)).isoformat()
    today = as_of.isoformat()
    recent = sum(int(n) for day, n in (item.get("last_played_days") or {}).items() if year_ago < day <= today)
    tmdb_id = item.get("tmdb_id")
    return ViewingRecord(
        session_id=str(item["session_id"]), show_key=str(item["show_key"]), title=str(item.get("title", "")),
        kind=str(item.get("kind", "show")), episodes=int(item["episode_count"]), plays=int(item["play_count"]),
        episodes_last_year=recent, first_played=date.fromisoformat(str(item["first_played"])),
        last_played=date.fromisoformat(str(item["last_played"])),
        imdb_id=item.get("imdb_id"), tmdb_id=int(tmdb_id) if tmdb_id is not None else None,
        plays_by_month={str(month): int(n) for month, n in (item.get("plays_by_month") or {}).items()},
    )
