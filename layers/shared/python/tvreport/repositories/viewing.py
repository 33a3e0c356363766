"""Viewing records: one item per (session, show or movie).

Plays are stored as a string set of "YYYY-MM-DD|<episode>" keys, so adding the same
page twice (a redelivered message) changes nothing; every statistic (episodes,
first/last played, last 12 months) is derived from that set when read."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any, Iterable

from boto3.dynamodb.conditions import Key

from tvreport import aws
from tvreport.records import ViewingRecord
from tvreport.repositories._dynamo import batch_delete, expires_at, utc_now


def play_key(watched_on: date, episode: str) -> str:
    return f"{watched_on.isoformat()}|{episode}"


class ViewingRepository:
    def __init__(self, table_name: str, ttl_days: int):
        self._name = table_name
        self._ttl_days = ttl_days

    @property
    def _table(self):
        return aws.table(self._name)

    def add_plays(self, session_id: str, show_key: str, *, title: str, kind: str, plays: set[str],
                  imdb_id: str | None = None) -> None:
        values: dict[str, Any] = {":plays": plays, ":title": title, ":kind": kind,
                                  ":exp": expires_at(utc_now(), self._ttl_days)}
        expression = "ADD plays :plays SET title = if_not_exists(title, :title), kind = :kind, expires_at = :exp"
        if imdb_id:
            expression += ", imdb_id = if_not_exists(imdb_id, :imdb)"
            values[":imdb"] = imdb_id
        self._table.update_item(Key={"session_id": session_id, "show_key": show_key},
                                UpdateExpression=expression, ExpressionAttributeValues=values)

    def set_tmdb_id(self, session_id: str, show_key: str, tmdb_id: int) -> None:
        self._table.update_item(Key={"session_id": session_id, "show_key": show_key},
                                UpdateExpression="SET tmdb_id = :id",
                                ConditionExpression="attribute_exists(session_id)",
                                ExpressionAttributeValues={":id": tmdb_id})

    def items(self, session_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("session_id").eq(session_id),
                                  "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def records(self, session_id: str, as_of: date) -> list[ViewingRecord]:
        return [to_record(item, as_of) for item in self.items(session_id)]

    def delete_session(self, session_id: str) -> int:
        keys = [{"session_id": i["session_id"], "show_key": i["show_key"]} for i in self.items(session_id)]
        return batch_delete(self._table, keys)


def to_record(item: dict[str, Any], as_of: date) -> ViewingRecord:
    plays = sorted(str(p) for p in item.get("plays", ()))
    days = [date.fromisoformat(p.split("|", 1)[0]) for p in plays]
    episodes = {p.split("|", 1)[1] for p in plays}
    year_ago = as_of - timedelta(days=365)
    recent = {p.split("|", 1)[1] for p, d in zip(plays, days) if year_ago < d <= as_of}
    tmdb_id = item.get("tmdb_id")
    by_month = Counter(day.isoformat()[:7] for day in days)
    return ViewingRecord(
        session_id=str(item["session_id"]), show_key=str(item["show_key"]), title=str(item.get("title", "")),
        kind=str(item.get("kind", "show")), episodes=len(episodes), plays=len(plays),
        episodes_last_year=len(recent), first_played=min(days), last_played=max(days),
        imdb_id=item.get("imdb_id"), tmdb_id=int(tmdb_id) if tmdb_id is not None else None,
        plays_by_month=dict(by_month),
    )


def show_keys(items: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(str(i["show_key"]) for i in items if i.get("kind") == "show")
