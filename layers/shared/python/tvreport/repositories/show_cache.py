"""The show cache shared by every session: one item per TMDB show, plus alias items
mapping a history's title to a TMDB id (or to "not found"), so each title is looked
up upstream once for all users until it is older than the configured age."""
from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key

from tvreport import aws
from tvreport.records import CachedShow, CastMember, RtScores, ShowAlias
from tvreport.repositories._dynamo import from_dynamo, iso, to_dynamo, utc_now
from tvreport.schema import BY_IMDB_INDEX

IMDB_INDEX = BY_IMDB_INDEX
# A crawl that found no score (no series, or a page without a score yet) is asked again
# sooner than a hit: the show may get a page or a score, and a wrong miss costs every
# user its score until it is asked again. Capped by the cache's own maximum age.
RT_MISS_MAX_AGE = timedelta(days=3)
RT_SCORED = "scored"
BATCH_GET_MAX = 100  # keys per BatchGetItem (DynamoDB's limit)
BATCH_WRITE_MAX = 25  # items per BatchWriteItem
# Unprocessed keys/items are sent again after a jittered exponential backoff (what the
# BatchGetItem/BatchWriteItem docs ask for); past the last attempt the call fails loudly.
BATCH_ATTEMPTS = 8
BATCH_BACKOFF_BASE_S = 0.05
BATCH_BACKOFF_MAX_S = 2.0


class UnprocessedBatchError(RuntimeError):
    """DynamoDB left part of a batch unprocessed through every retry (throttled)."""


def show_id(tmdb_id: int) -> str:
    return f"tmdb#{tmdb_id}"


class ShowCacheRepository:
    def __init__(self, table_name: str, max_age_days: int):
        self._name = table_name
        self._max_age = timedelta(days=max_age_days)

    @property
    def _table(self):
        return aws.table(self._name)

    def is_fresh(self, stamp: str | None, now: datetime | None = None) -> bool:
        if not stamp:
            return False
        fetched = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return (now or utc_now()) - fetched <= self._max_age

    def rt_fresh(self, show: CachedShow, now: datetime | None = None) -> bool:
        """Whether the show's last crawl answer is recent enough to skip a crawl."""
        if not show.rt_checked_at:
            return False
        checked = datetime.fromisoformat(show.rt_checked_at.replace("Z", "+00:00"))
        scored = show.rt_outcome == RT_SCORED or (show.rt_outcome is None and show.rt_critics_score is not None)
        return (now or utc_now()) - checked <= (self._max_age if scored else min(self._max_age, RT_MISS_MAX_AGE))

    def get(self, tmdb_id: int) -> CachedShow | None:
        item = self._table.get_item(Key={"show_id": show_id(tmdb_id)}).get("Item")
        return to_show(item) if item else None

    def batch_get(self, tmdb_ids: Iterable[int]) -> dict[int, CachedShow]:
        """The cached shows among `tmdb_ids`, by id (absent ids are not in the cache)."""
        items = self._batch_get_items([show_id(i) for i in set(tmdb_ids)])
        return {show.tmdb_id: show for show in map(to_show, items.values())}

    def batch_get_aliases(self, show_keys: Iterable[str]) -> dict[str, ShowAlias]:
        """get_alias for many keys at once, for those seen."""
        items = self._batch_get_items([f"alias#{key}" for key in set(show_keys)])
        return {sid.removeprefix("alias#"): self._alias(item) for sid, item in items.items()}

    def _batch_get_items(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """{show_id: item} in BatchGetItem calls of 100 keys, unprocessed keys retried."""
        found: dict[str, dict[str, Any]] = {}
        client = self._table.meta.client
        ids = sorted(ids)
        for start in range(0, len(ids), BATCH_GET_MAX):
            request = {self._name: {"Keys": [{"show_id": i} for i in ids[start:start + BATCH_GET_MAX]]}}
            for attempt in range(BATCH_ATTEMPTS):
                if attempt:
                    _backoff(attempt)
                page = client.batch_get_item(RequestItems=request)
                for item in page.get("Responses", {}).get(self._name, []):
                    found[item["show_id"]] = item
                request = page.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise UnprocessedBatchError(f"BatchGetItem left keys unprocessed after {BATCH_ATTEMPTS} attempts")
        return found

    def find_by_imdb(self, imdb_id: str) -> CachedShow | None:
        page = self._table.query(IndexName=IMDB_INDEX, KeyConditionExpression=Key("imdb_id").eq(imdb_id), Limit=1)
        items = page.get("Items", [])
        return self.get(int(items[0]["tmdb_id"])) if items else None

    def get_alias(self, show_key: str) -> ShowAlias | None:
        """What a title seen before was looked up as, else None."""
        item = self._table.get_item(Key={"show_id": f"alias#{show_key}"}).get("Item")
        return self._alias(item) if item else None

    def _alias(self, item: dict[str, Any]) -> ShowAlias:
        return to_alias(item, self.is_fresh(item.get("fetched_at")))

    def put_alias(self, show_key: str, tmdb_id: int | None) -> None:
        self._table.put_item(Item=_alias_item(show_key, tmdb_id))

    def put_aliases(self, aliases: Iterable[tuple[str, int | None]]) -> None:
        """Many put_alias in BatchWriteItem calls of 25 (an alias is a whole-item put with
        no condition, so a batch says the same), unprocessed items retried with backoff."""
        items = {key: _alias_item(key, tmdb_id) for key, tmdb_id in aliases}  # one put per key per batch
        client = self._table.meta.client
        puts = [{"PutRequest": {"Item": to_dynamo(item)}} for item in items.values()]
        for start in range(0, len(puts), BATCH_WRITE_MAX):
            request = {self._name: puts[start:start + BATCH_WRITE_MAX]}
            for attempt in range(BATCH_ATTEMPTS):
                if attempt:
                    _backoff(attempt)
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
            else:
                raise UnprocessedBatchError(f"BatchWriteItem left items unprocessed after {BATCH_ATTEMPTS} attempts")

    def put_show(self, show: CachedShow) -> None:
        """Store TMDB data; Rotten Tomatoes fields already cached are kept."""
        data = asdict(show)
        data["fetched_at"] = iso(utc_now())
        rt_fields = {k for k in data if k.startswith("rt_")}
        values = {k: v for k, v in data.items() if k not in rt_fields and v is not None and k != "tmdb_id"}
        names = {f"#{k}": k for k in values}
        self._table.update_item(
            Key={"show_id": show_id(show.tmdb_id)},
            UpdateExpression="SET tmdb_id = :tmdb_id, " + ", ".join(f"#{k} = :{k}" for k in values),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_dynamo({":tmdb_id": show.tmdb_id, **{f":{k}": v for k, v in values.items()}}),
        )

    def update_rotten_tomatoes(self, tmdb_id: int, scores: RtScores | None) -> None:
        """Record a crawl that got an answer (None: no series page): the fields it found
        are set and its outcome stamped. Nothing is ever removed: a miss (or a page
        without a score) keeps the scores an earlier crawl found; a failed crawl is not
        recorded at all."""
        present = rt_fields(scores, iso(utc_now()))
        self._table.update_item(Key={"show_id": show_id(tmdb_id)},
                                UpdateExpression="SET " + ", ".join(f"{k} = :{k}" for k in present),
                                ConditionExpression="attribute_exists(show_id)",
                                ExpressionAttributeValues=to_dynamo({f":{k}": v for k, v in present.items()}))


# The RtScores fields the cache keeps, each stored as rt_<field>.
RT_CACHED_FIELDS = ("url", "critics_score", "audience_score", "critics_reviews", "certified")


def rt_fields(scores: RtScores | None, checked_at: str) -> dict[str, Any]:
    """The show item's attributes a crawl's answer sets (the fields it found, its outcome)."""
    present: dict[str, Any] = {"rt_checked_at": checked_at}
    for name in RT_CACHED_FIELDS:
        value = getattr(scores, name) if scores is not None else None
        if value is not None:
            present[f"rt_{name}"] = value
    outcome = "not_found" if scores is None else (RT_SCORED if scores.has_score else "unscored")
    present["rt_outcome"] = outcome
    return present


def to_alias(item: dict[str, Any], fresh: bool) -> ShowAlias:
    tmdb_id = item.get("tmdb_id")
    return ShowAlias(tmdb_id=int(tmdb_id) if tmdb_id is not None else None, fresh=fresh)


def _alias_item(show_key: str, tmdb_id: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {"show_id": f"alias#{show_key}", "fetched_at": iso(utc_now())}
    if tmdb_id is not None:
        item["tmdb_id"] = tmdb_id
    return item


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(BATCH_BACKOFF_MAX_S, BATCH_BACKOFF_BASE_S * 2 ** attempt)))


def to_show(item: dict[str, Any]) -> CachedShow:
    data = from_dynamo(item)
    cast = [CastMember(name=c.get("name", ""), character=c.get("character", ""), episodes=int(c.get("episodes") or 0))
            for c in data.get("cast", [])]
    known = set(CachedShow.__dataclass_fields__) - {"cast"}
    fields = {k: v for k, v in data.items() if k in known}
    fields["tmdb_id"] = int(data["tmdb_id"])
    return CachedShow(cast=cast, **fields)
