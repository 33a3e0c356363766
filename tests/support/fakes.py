"""In-memory repositories for stage-function tests without AWS.

Each fake implements its Protocol (tvreport.repositories.protocols; mypy checks the
assignments at the bottom) and keeps the conditions the stages rely on, read from the
DynamoDB repositories: every stage write needs the session crunching; a chunk counts
once per (stage, chunk) and a duplicate returns False; a count for a session that is
gone raises SessionGone; a trigger is claimed once; an AI result is stored once;
wave claims follow the sent waves; a conditional update of a missing item raises the
ClientError DynamoDB gives. Items are stored with the real attribute names (the real
modules' constants and pure helpers build them), so SessionView, the tracker's
decisions and the report read a fake's items as they read DynamoDB's.
tests/integration/test_fakes_contract.py runs one scenario on both and compares."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from tvreport.records import CachedShow, RtScores, ShowAlias, ViewingRecord
from tvreport.repositories._dynamo import expires_at, iso, utc_now
from tvreport.repositories.protocols import SessionStore, ShowCacheStore, ViewingStore
from tvreport.repositories.sessions import TOMBSTONE_TTL, ClientTokenReused, SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository, rt_fields, show_id, to_alias, to_show
from tvreport.repositories.viewing import (
    RAW_SUFFIX,
    Activity,
    ItemTooLarge,
    ViewingRepository,
    summarize_plays,
    to_record,
)
from tvreport.results import StageResult, StarSignResult
from tvreport.session_model import (
    COUNTER_PREFIX,
    DELETED_STATE,
    META_SK,
    TOMBSTONE_ACTIVE,
    TRIGGER_FLAG,
    SessionGone,
    SessionView,
    Stage,
    State,
    active_shard,
    ledger_sk,
    result_attribute,
    session_pk,
    shard_value,
)
from tvreport.stats import ViewingStatistics

ITEM_LIMIT_BYTES = 400 * 1024  # DynamoDB's item size limit (approximated here by the JSON size)

Key = tuple[str, str]


def condition_failed(operation: str) -> ClientError:
    """What botocore raises when a conditional write's condition fails."""
    return ClientError({"Error": {"Code": "ConditionalCheckFailedException",
                                  "Message": "The conditional request failed"}}, operation)


def _stored(value: Any) -> Any:
    """A copy as DynamoDB keeps it: plain JSON data, never the caller's object."""
    return json.loads(json.dumps(value))


class FakeSessions:
    def __init__(self, ttl_days: int = 1, clock: Callable[[], datetime] = utc_now):
        self.stored: dict[Key, dict[str, Any]] = {}  # (pk, sk) -> item, as in the sessions table
        self._ttl_days = ttl_days
        self._clock = clock

    # -- the table's primitives ------------------------------------------------------
    def _meta(self, session_id: str) -> dict[str, Any] | None:
        return self.stored.get((session_pk(session_id), META_SK))

    def _crunching(self, session_id: str) -> dict[str, Any] | None:
        item = self._meta(session_id)
        return item if item is not None and item.get("state") == State.CRUNCHING_DATA.value else None

    def _set(self, item: dict[str, Any], values: dict[str, Any], remove: Iterable[str] = ()) -> bool:
        """An update that passed its condition: every SET also moves updated_at."""
        item.update(_stored({**values, "updated_at": iso(self._clock())}))
        for name in remove:
            item.pop(name, None)
        return True

    def _update_crunching(self, session_id: str, values: dict[str, Any],
                          unless: Callable[[dict[str, Any]], bool] = lambda _: False,
                          remove: Iterable[str] = ()) -> bool:
        item = self._crunching(session_id)
        if item is None or unless(item):
            return False
        return self._set(item, values, remove)

    def _stage_write(self, session_id: str, values: dict[str, Any]) -> None:
        if not self._update_crunching(session_id, values):
            raise SessionGone(f"session {session_id} is not crunching")

    # -- lifecycle -------------------------------------------------------------------
    def create(self, session_id: str, *, source: str | None, state: State, threshold_percent: int,
               client_token: str | None = None, start_digest: str | None = None,
               request_digest: str | None = None) -> tuple[str, bool]:
        if client_token and (token := self.stored.get((f"TOKEN#{client_token}", "TOKEN"))):
            existing = self.token_session(client_token, request_digest)
            return str(existing or token["session_id"]), False
        if self._meta(session_id) is not None:
            raise RuntimeError("a session with this id exists already")
        now = self._clock()
        item: dict[str, Any] = {"pk": session_pk(session_id), "sk": META_SK, "session_id": session_id,
                                "state": state.value, "threshold_percent": threshold_percent,
                                "created_at": iso(now), "updated_at": iso(now),
                                "expires_at": expires_at(now, self._ttl_days)}
        if source:
            item["source"] = source
        if state is State.CRUNCHING_DATA:
            item["active"] = active_shard(session_id)
        if client_token:
            item["client_token"] = client_token
            self.stored[(f"TOKEN#{client_token}", "TOKEN")] = {
                "pk": f"TOKEN#{client_token}", "sk": "TOKEN", "session_id": session_id,
                "request_digest": request_digest or "", "expires_at": item["expires_at"]}
        if start_digest:
            item["start_digest"] = start_digest
        self.stored[(item["pk"], META_SK)] = item
        return session_id, True

    def token_session(self, client_token: str, request_digest: str | None) -> str | None:
        token = self.stored.get((f"TOKEN#{client_token}", "TOKEN"))
        if token is None:
            return None
        if token.get("request_digest", "") != (request_digest or ""):
            raise ClientTokenReused("this clientToken was used for another request")
        return str(token["session_id"])

    def get_item(self, session_id: str) -> dict[str, Any] | None:
        item = self._meta(session_id)
        return copy.deepcopy(item) if item is not None else None

    def get(self, session_id: str) -> SessionView | None:
        item = self.get_item(session_id)
        if item is None:
            return None
        try:
            return SessionView.from_item(item)
        except SessionGone:
            return None

    def crunching(self, session_id: str) -> SessionView | None:
        view = self.get(session_id)
        return view if view is not None and view.state is State.CRUNCHING_DATA else None

    def connect(self, session_id: str, source: str, start_digest: str) -> bool:
        item = self._meta(session_id)
        if item is None or item.get("state") != State.AWAITING_CONNECTION.value:
            return False
        return self._set(item, {"state": State.CRUNCHING_DATA.value, "source": source,
                                "active": active_shard(session_id), "start_digest": start_digest,
                                "progress_at": iso(self._clock())})

    def mark_start_sent(self, session_id: str) -> bool:
        return self._update_crunching(session_id, {"start_sent_at": iso(self._clock())})

    def fail(self, session_id: str, reason: str, detail: str = "") -> bool:
        return self._update_crunching(session_id, {"state": State.FAILED.value, "failure_reason": reason,
                                                   "failure_detail": detail[:500], "ended_at": iso(self._clock())},
                                      remove=["active"])

    def complete(self, session_id: str, statistics: ViewingStatistics, partial: bool = False,
                 star_sign: StarSignResult | None = None) -> bool:
        now = iso(self._clock())
        values: dict[str, Any] = {"state": State.COMPLETED.value, "statistics": statistics.to_dict(),
                                  "report_partial": partial, "completed_at": now, "ended_at": now}
        if star_sign is not None:
            values[result_attribute(Stage.STAR_SIGN)] = star_sign.stored()
        return self._update_crunching(session_id, values, remove=["active"])

    def cancel(self, session_id: str, by: str = "an operator") -> bool:
        item = self._meta(session_id)
        if item is None or item.get("state") not in (State.CRUNCHING_DATA.value, State.AWAITING_CONNECTION.value):
            return False
        return self._set(item, {"state": State.FAILED.value, "failure_reason": "CANCELLED",
                                "failure_detail": f"cancelled by {by}", "ended_at": iso(self._clock())},
                         remove=["active"])

    # -- queryActivities -------------------------------------------------------------
    def record_activity_pages(self, session_id: str, pages_done: int, pages_total: int,
                              date_format: str | None) -> None:
        self._stage_write(session_id, {"activity_pages_done": pages_done, "activity_pages_total": pages_total,
                                       "date_format": date_format or "", "progress_at": iso(self._clock())})

    def set_totals(self, session_id: str, *, total_shows: int, total_chunks: int, movies: int,
                   activities: int, rejected: int) -> None:
        now = iso(self._clock())
        self._stage_write(session_id, {"total_shows": total_shows, "total_chunks": total_chunks, "movies": movies,
                                       "activities": activities, "rejected_rows": rejected,
                                       "activities_done_at": now, "progress_at": now})

    # -- chunk counting --------------------------------------------------------------
    def count_chunk(self, session_id: str, stage: Stage, chunk_id: int, *, shows_done: int,
                    shows_failed: int, dead_lettered: bool = False) -> bool:
        ledger_key = (session_pk(session_id), ledger_sk(stage, chunk_id))
        if ledger_key in self.stored:  # the ledger condition decides first: a duplicate
            return False
        item = self._crunching(session_id)
        if item is None:
            raise SessionGone(f"session {session_id} is not crunching; chunk not counted")
        prefix = COUNTER_PREFIX[stage]
        now = iso(self._clock())
        self.stored[ledger_key] = {
            "pk": ledger_key[0], "sk": ledger_key[1], "stage": stage.value, "chunk_id": chunk_id,
            "shows_done": shows_done, "shows_failed": shows_failed, "dead_lettered": dead_lettered,
            "counted_at": now, "expires_at": expires_at(self._clock(), self._ttl_days)}
        chunk_counter = f"{prefix}_chunks_failed" if dead_lettered else f"{prefix}_chunks_done"
        for name, amount in ((chunk_counter, 1), (f"{prefix}_shows_done", shows_done),
                             (f"{prefix}_shows_failed", shows_failed)):
            item[name] = item.get(name, 0) + amount
        item["updated_at"] = item["progress_at"] = now
        return True

    def ledger(self, session_id: str) -> list[dict[str, Any]]:
        pk = session_pk(session_id)
        return [copy.deepcopy(item) for (p, sk), item in sorted(self.stored.items())
                if p == pk and sk.startswith("CHUNK#")]

    # -- AI-stage triggers -----------------------------------------------------------
    def claim_trigger(self, session_id: str, stage: Stage) -> bool:
        flag = TRIGGER_FLAG[stage]
        return self._update_crunching(session_id, {f"{flag}_requested_at": iso(self._clock())},
                                      unless=lambda item: f"{flag}_requested_at" in item)

    def record_send_failure(self, session_id: str, stage: Stage, next_send_at: datetime) -> bool:
        flag = TRIGGER_FLAG[stage]
        item = self._crunching(session_id)
        if item is None or f"{flag}_sent_at" in item:
            return False
        attempts = item.get(f"{flag}_send_attempts", 0) + 1
        return self._set(item, {f"{flag}_next_send_at": iso(next_send_at), f"{flag}_send_attempts": attempts})

    def mark_trigger_sent(self, session_id: str, stage: Stage) -> bool:
        return self._update_crunching(session_id, {f"{TRIGGER_FLAG[stage]}_sent_at": iso(self._clock())})

    def store_ai_result(self, session_id: str, stage: Stage, result: StageResult) -> bool:
        flag = TRIGGER_FLAG[stage]
        now = iso(self._clock())
        return self._update_crunching(session_id, {result_attribute(stage): result.stored(), f"{flag}_done_at": now,
                                                   "progress_at": now},
                                      unless=lambda item: f"{flag}_done_at" in item)

    # -- chunk waves -----------------------------------------------------------------
    def claim_wave(self, session_id: str, wave: int, *, wave_size: int, chunk_size: int) -> bool:
        if wave == 0:
            return self._update_crunching(session_id, {"waves_claimed": 1, "wave_size": wave_size,
                                                       "chunk_size": chunk_size},
                                          unless=lambda item: "waves_claimed" in item)
        return self._update_crunching(
            session_id, {"waves_claimed": wave + 1},
            unless=lambda item: not (item.get("waves_claimed") == wave and item.get("waves_sent") == wave))

    def mark_wave_sent(self, session_id: str, wave: int) -> bool:
        return self._update_crunching(session_id, {"waves_sent": wave + 1},
                                      unless=lambda item: "waves_sent" in item and item["waves_sent"] >= wave + 1)

    # -- watchdog / deletion ---------------------------------------------------------
    def _with_active(self, value: str) -> list[str]:
        return sorted(str(item["session_id"]) for (_, sk), item in self.stored.items()
                      if sk == META_SK and item.get("active") == value)

    def active_session_ids(self, shard: int) -> Iterator[str]:
        yield from self._with_active(shard_value(shard))

    def tombstone(self, session_id: str, client_token: str | None = None) -> bool:
        item = self._meta(session_id)
        if item is None or item.get("state") == DELETED_STATE:
            return False
        now = self._clock()
        tombstone: dict[str, Any] = {"pk": session_pk(session_id), "sk": META_SK, "session_id": session_id,
                                     "state": DELETED_STATE, "active": TOMBSTONE_ACTIVE, "updated_at": iso(now),
                                     "deleted_at": iso(now), "created_at": iso(now),
                                     "expires_at": int((now + TOMBSTONE_TTL).timestamp())}
        if client_token:
            tombstone["client_token"] = client_token
        self.stored[(tombstone["pk"], META_SK)] = tombstone
        return True

    def tombstones(self, deleted_before: datetime) -> Iterator[str]:
        for session_id in self._with_active(TOMBSTONE_ACTIVE):
            item = self._meta(session_id)
            if item and item.get("state") == DELETED_STATE and str(item.get("deleted_at", "")) < iso(deleted_before):
                yield session_id

    def purge(self, session_id: str, *, remove_tombstone: bool) -> int:
        tombstone = self._meta(session_id)
        if tombstone is None:
            return 0
        if tombstone.get("state") != DELETED_STATE:
            raise RuntimeError("refusing to purge a session that is not deleted")
        pk = session_pk(session_id)
        keys = [key for key in self.stored if key[0] == pk and key[1] != META_SK]
        if tombstone.get("client_token"):
            keys.append((f"TOKEN#{tombstone['client_token']}", "TOKEN"))
        for key in keys:  # BatchWriteItem deletes a missing key without complaint, and counts it
            self.stored.pop(key, None)
        if remove_tombstone:
            del self.stored[(pk, META_SK)]
            return len(keys) + 1
        return len(keys)


class FakeViewing:
    def __init__(self, ttl_days: int = 1):
        self.stored: dict[Key, dict[str, Any]] = {}  # (session_id, show_key) -> item
        self._ttl_days = ttl_days

    def _put(self, item: dict[str, Any]) -> None:
        if len(json.dumps(item, default=str)) > ITEM_LIMIT_BYTES:
            raise ItemTooLarge("Item size has exceeded the maximum allowed size")
        self.stored[(item["session_id"], item["show_key"])] = item

    def put_record(self, session_id: str, show_key: str, *, title: str, kind: str, plays: set[str],
                   imdb_id: str | None = None) -> None:
        item: dict[str, Any] = {"session_id": session_id, "show_key": show_key, "title": title, "kind": kind,
                                **summarize_plays(plays), "expires_at": expires_at(utc_now(), self._ttl_days)}
        if imdb_id:
            item["imdb_id"] = imdb_id
        if (session_id, show_key) not in self.stored:  # written once: a redelivered split keeps the match
            self._put(_stored(item))

    def set_tmdb_id(self, session_id: str, show_key: str, tmdb_id: int) -> None:
        item = self.stored.get((session_id, show_key))
        if item is None:
            raise condition_failed("UpdateItem")
        item["tmdb_id"] = tmdb_id

    def put_raw_page(self, session_id: str, page: int, activities: list[Activity]) -> None:
        self._put({"session_id": session_id + RAW_SUFFIX, "show_key": f"page#{page:06d}", "page": page,
                   "activities": _stored(activities), "expires_at": expires_at(utc_now(), self._ttl_days)})

    def _partition(self, partition: str) -> list[dict[str, Any]]:
        """A query's answer: the partition's items in sort-key order."""
        return [copy.deepcopy(item) for (p, _), item in sorted(self.stored.items()) if p == partition]

    def raw_pages(self, session_id: str) -> dict[int, list[Activity]]:
        return {int(item["page"]): [(a[0], a[1], a[2]) for a in item["activities"]]
                for item in self._partition(session_id + RAW_SUFFIX)}

    def raw_page_numbers(self, session_id: str) -> set[int]:
        return {int(item["page"]) for item in self._partition(session_id + RAW_SUFFIX)}

    def records(self, session_id: str, as_of: date) -> list[ViewingRecord]:
        return [to_record(item, as_of) for item in self._partition(session_id)]

    def delete_session(self, session_id: str) -> int:
        keys = [key for key in self.stored if key[0] in (session_id, session_id + RAW_SUFFIX)]
        for key in keys:
            del self.stored[key]
        return len(keys)


class FakeShowCache:
    def __init__(self, max_age_days: int = 30):
        self.stored: dict[str, dict[str, Any]] = {}  # show_id -> item
        # Freshness is a rule on stamps, not a table read: the real repository's, unchanged.
        self._rules = ShowCacheRepository("unused", max_age_days)

    def is_fresh(self, stamp: str | None, now: datetime | None = None) -> bool:
        return self._rules.is_fresh(stamp, now)

    def rt_fresh(self, show: CachedShow, now: datetime | None = None) -> bool:
        return self._rules.rt_fresh(show, now)

    def get(self, tmdb_id: int) -> CachedShow | None:
        item = self.stored.get(show_id(tmdb_id))
        return to_show(copy.deepcopy(item)) if item else None

    def batch_get(self, tmdb_ids: Iterable[int]) -> dict[int, CachedShow]:
        return {tmdb_id: show for tmdb_id in set(tmdb_ids) if (show := self.get(tmdb_id)) is not None}

    def find_by_imdb(self, imdb_id: str) -> CachedShow | None:
        ids = sorted(int(i["tmdb_id"]) for i in self.stored.values() if i.get("imdb_id") == imdb_id)
        return self.get(ids[0]) if ids else None

    def get_alias(self, show_key: str) -> ShowAlias | None:
        item = self.stored.get(f"alias#{show_key}")
        return to_alias(item, self.is_fresh(item.get("fetched_at"))) if item else None

    def batch_get_aliases(self, show_keys: Iterable[str]) -> dict[str, ShowAlias]:
        return {key: alias for key in set(show_keys) if (alias := self.get_alias(key)) is not None}

    def put_alias(self, show_key: str, tmdb_id: int | None) -> None:
        item: dict[str, Any] = {"show_id": f"alias#{show_key}", "fetched_at": iso(utc_now())}
        if tmdb_id is not None:
            item["tmdb_id"] = tmdb_id
        self.stored[item["show_id"]] = item

    def put_aliases(self, aliases: Iterable[tuple[str, int | None]]) -> None:
        for show_key, tmdb_id in aliases:  # whole-item puts: the last one for a key wins, as in a batch
            self.put_alias(show_key, tmdb_id)

    def put_show(self, show: CachedShow) -> None:
        """An update: fields left None keep what is stored, and Rotten Tomatoes fields are never touched."""
        data = _stored(asdict(show))
        values = {k: v for k, v in data.items() if not k.startswith("rt_") and v is not None}
        item = self.stored.setdefault(show_id(show.tmdb_id), {"show_id": show_id(show.tmdb_id)})
        item.update({**values, "fetched_at": iso(utc_now())})

    def update_rotten_tomatoes(self, tmdb_id: int, scores: RtScores | None) -> None:
        item = self.stored.get(show_id(tmdb_id))
        if item is None:
            raise condition_failed("UpdateItem")
        item.update(_stored(rt_fields(scores, iso(utc_now()))))  # the attributes the real one sets


# mypy holds each fake (and each real repository) to its Protocol.
_sessions: SessionStore = FakeSessions()
_viewing: ViewingStore = FakeViewing()
_cache: ShowCacheStore = FakeShowCache()
_real_sessions: SessionStore = SessionRepository("unused", 1)
_real_viewing: ViewingStore = ViewingRepository("unused", 1)
_real_cache: ShowCacheStore = ShowCacheRepository("unused", 30)
