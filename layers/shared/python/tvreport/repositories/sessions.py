"""The sessions table: session items, the chunk ledger and client tokens.

Counting is exactly-once: a chunk is counted by one transaction that puts its ledger
item (only if absent) and adds to the session's counters, so a redelivered message
fails the condition and changes nothing. A cancelled transaction is read by its
CancellationReasons: only a failed ledger condition is a duplicate; a failed session
condition means the session is gone; a conflict or throttling is retried, then raised.

Every write to a session item carries a condition, so a stage that read the session
before a DELETE can never bring the item back (DELETE leaves a tombstone first)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from tvreport import aws
from tvreport.observability import SESSIONS_COMPLETED, SESSIONS_FAILED, count, logger
from tvreport.repositories._dynamo import (
    batch_delete,
    expires_at,
    iso,
    serialize_item,
    serialize_values,
    to_dynamo,
    utc_now,
)
from tvreport.results import StageResult, StarSignResult
from tvreport.schema import ACTIVE_SESSIONS_INDEX, CHUNKED, TTL_ATTRIBUTE
from tvreport.session_model import (
    ACTIVE_SHARDS,
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

__all__ = ["ACTIVE_INDEX", "SessionGone", "SessionRepository"]

ACTIVE_INDEX = ACTIVE_SESSIONS_INDEX
TRANSACTION_ATTEMPTS = 5
TOMBSTONE_TTL = timedelta(days=1)  # a backstop: the watchdog's purge removes it within minutes

# The condition of every stage write: the item exists and is still crunching.
_CRUNCHING = "attribute_exists(pk) AND #state = :crunching"
_CRUNCHING_NAMES = {"#state": "state"}
_CRUNCHING_VALUES = {":crunching": State.CRUNCHING_DATA.value}
_CONDITION_FAILED = "ConditionalCheckFailed"


class ClientTokenReused(ValueError):
    """A client token already used for a different request."""


def _cancellation_codes(error: ClientError) -> list[str] | None:
    """The per-item codes of a cancelled transaction (botocore parses them from the
    modeled TransactionCanceledException), None for any other error."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return [str(reason.get("Code", "None")) for reason in error.response.get("CancellationReasons", [])]


def _transient_cancellation(error: BaseException) -> bool:
    return isinstance(error, ClientError) and _cancellation_codes(error) is not None


def _log_retry(state) -> None:
    error = state.outcome.exception()
    logger.warning("transaction cancelled; retrying", extra={
        "attempt": state.attempt_number, "reasons": _cancellation_codes(error) if error else None})


class SessionRepository:
    def __init__(self, table_name: str, ttl_days: int, clock: Callable[[], datetime] = utc_now,
                 retry_wait: Any = None, transaction_attempts: int = TRANSACTION_ATTEMPTS):
        self._name = table_name
        self._ttl_days = ttl_days
        self._clock = clock
        self._wait = retry_wait or wait_random_exponential(multiplier=0.05, max=2)  # full jitter
        self._attempts = transaction_attempts

    @property
    def _table(self):
        return aws.table(self._name)

    def _key(self, session_id: str) -> dict[str, str]:
        return {"pk": session_pk(session_id), "sk": META_SK}

    def _update(self, session_id: str, expression: str, values: dict[str, Any], condition: str,
                names: dict[str, str] | None = None) -> bool:
        """One conditional update of the session item (a condition is required: an
        unconditional update would re-create a deleted item); False when it fails."""
        if expression.startswith("SET "):  # every change is progress, for the watchdog
            expression = "SET updated_at = :now, " + expression[4:]
        values = {**values, ":now": iso(self._clock())}
        kwargs: dict[str, Any] = {
            "Key": self._key(session_id),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": to_dynamo(values),
            "ConditionExpression": condition,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self._table.update_item(**kwargs)
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def _update_crunching(self, session_id: str, expression: str, values: dict[str, Any],
                          extra_condition: str | None = None) -> bool:
        condition = f"{_CRUNCHING} AND {extra_condition}" if extra_condition else _CRUNCHING
        return self._update(session_id, expression, {**values, **_CRUNCHING_VALUES}, condition, _CRUNCHING_NAMES)

    def _stage_write(self, session_id: str, expression: str, values: dict[str, Any]) -> None:
        """A stage's write: the session must be crunching, or the stage stops (SessionGone)."""
        if not self._update_crunching(session_id, expression, values):
            raise SessionGone(f"session {session_id} is not crunching")

    def _transact(self, items: list[dict[str, Any]]) -> set[int]:
        """Run a transaction; returns the indexes whose condition failed (empty when it
        was applied). Any other cancellation is retried with backoff, then raised."""
        for attempt in Retrying(stop=stop_after_attempt(self._attempts), wait=self._wait, reraise=True,
                                retry=retry_if_exception(_transient_cancellation), before_sleep=_log_retry):
            with attempt:
                try:
                    aws.client("dynamodb").transact_write_items(TransactItems=items)
                    return set()
                except ClientError as error:
                    codes = _cancellation_codes(error)
                    failed = {i for i, code in enumerate(codes or []) if code == _CONDITION_FAILED}
                    if failed:
                        return failed
                    raise
        raise AssertionError("unreachable: tenacity returns or raises")

    # -- lifecycle -------------------------------------------------------------------
    def create(self, session_id: str, *, source: str | None, state: State, threshold_percent: int,
               client_token: str | None = None, start_digest: str | None = None,
               request_digest: str | None = None) -> tuple[str, bool]:
        """Create a session; with a client token, a repeated create returns the first
        session instead (returns (session_id, created)). The start digest is what a
        replay must match to re-send a start that was never queued; the token is bound
        to the request digest (the same token with another request: ClientTokenReused)."""
        now = self._clock()
        item: dict[str, Any] = {
            **self._key(session_id), "session_id": session_id, "state": state.value,
            "threshold_percent": threshold_percent, "created_at": iso(now), "updated_at": iso(now),
            TTL_ATTRIBUTE: expires_at(now, self._ttl_days),
        }
        if source:
            item["source"] = source
        if state is State.CRUNCHING_DATA:
            item["active"] = active_shard(session_id)
        if client_token:
            item["client_token"] = client_token
        if start_digest:
            item["start_digest"] = start_digest
        puts = [{"Put": {"TableName": self._name, "Item": serialize_item(item),
                         "ConditionExpression": "attribute_not_exists(pk)"}}]
        if client_token:
            token_item = {"pk": f"TOKEN#{client_token}", "sk": "TOKEN", "session_id": session_id,
                          "request_digest": request_digest or "", TTL_ATTRIBUTE: item[TTL_ATTRIBUTE]}
            puts.append({"Put": {"TableName": self._name, "Item": serialize_item(token_item),
                                 "ConditionExpression": "attribute_not_exists(pk)"}})
        failed = self._transact(puts)
        if not failed:
            return session_id, True
        if 1 not in failed:  # the session put itself: an id that exists already
            raise RuntimeError("a session with this id exists already")
        existing = self.token_session(client_token, request_digest)  # type: ignore[arg-type]  # failed[1]: a token
        if existing is None:
            raise RuntimeError("session creation conflicted but no token item exists")
        return existing, False

    def token_session(self, client_token: str, request_digest: str | None) -> str | None:
        """The session a client token created, if any; ClientTokenReused if the token
        was used for a request with another digest."""
        existing = self._table.get_item(Key={"pk": f"TOKEN#{client_token}", "sk": "TOKEN"},
                                        ConsistentRead=True).get("Item")
        if not existing:
            return None
        if existing.get("request_digest", "") != (request_digest or ""):
            raise ClientTokenReused("this clientToken was used for another request")
        return str(existing["session_id"])

    def get_item(self, session_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key=self._key(session_id), ConsistentRead=True).get("Item")

    def get(self, session_id: str) -> SessionView | None:
        """The session, or None when it is missing, deleted or has no state (logged)."""
        item = self.get_item(session_id)
        if item is None:
            return None
        try:
            return SessionView.from_item(item)
        except SessionGone:
            logger.info("session item without a public state read as gone",
                        extra={"state": item.get("state") if item.get("state") == DELETED_STATE else None})
            return None

    def crunching(self, session_id: str) -> SessionView | None:
        """The session if work on it should go on; None (logged) if it ended or is gone,
        so a late or redelivered message is acknowledged without work."""
        view = self.get(session_id)
        if view is None or view.state is not State.CRUNCHING_DATA:
            logger.info("session not crunching; message dropped", extra={"state": view and view.state.value})
            return None
        return view

    def connect(self, session_id: str, source: str, start_digest: str) -> bool:
        """AWAITING_CONNECTION -> CRUNCHING_DATA, once. The digest of the start request
        lets a repeated connect re-send the same start if the first was never sent."""
        return self._update(
            session_id, "SET #state = :crunching, #source = :source, active = :shard, start_digest = :digest, "
            "progress_at = :now",
            {":crunching": State.CRUNCHING_DATA.value, ":awaiting": State.AWAITING_CONNECTION.value,
             ":source": source, ":shard": active_shard(session_id), ":digest": start_digest},
            condition="#state = :awaiting", names={"#state": "state", "#source": "source"})

    def mark_start_sent(self, session_id: str) -> bool:
        """Record that the first stage's message was queued (a replay re-sends until then)."""
        return self._update_crunching(session_id, "SET start_sent_at = :now", {})

    def fail(self, session_id: str, reason: str, detail: str = "") -> bool:
        """End a crunching session as FAILED with a reason code (first reason wins)."""
        failed = self._update_crunching(
            session_id, "SET #state = :failed, failure_reason = :reason, failure_detail = :detail, "
            "ended_at = :now REMOVE active",
            {":failed": State.FAILED.value, ":reason": reason, ":detail": detail[:500]})
        if failed:  # once per session: the alarm on failed sessions per hour counts these
            count(SESSIONS_FAILED)
        return failed

    def complete(self, session_id: str, statistics: ViewingStatistics, partial: bool = False,
                 star_sign: StarSignResult | None = None) -> bool:
        """COMPLETED with the final statistics (and, if given, the star sign re-derived
        from them), in one conditional write. The statistics are stored as the report
        shows them (camelCase JSON) and passed through: read back through the model,
        whole-number scores and percents would come out as 50.0, not 50."""
        values: dict[str, Any] = {":completed": State.COMPLETED.value, ":stats": statistics.to_dict(),
                                  ":partial": partial}
        star_sign_set = ""
        if star_sign is not None:
            star_sign_set = f", {result_attribute(Stage.STAR_SIGN)} = :star_sign"
            values[":star_sign"] = star_sign.stored()
        completed = self._update_crunching(
            session_id, "SET #state = :completed, statistics = :stats, report_partial = :partial, "
            f"completed_at = :now, ended_at = :now{star_sign_set} REMOVE active", values)
        if completed:
            count(SESSIONS_COMPLETED)
        return completed

    # -- queryActivities -------------------------------------------------------------
    def record_activity_pages(self, session_id: str, pages_done: int, pages_total: int,
                              date_format: str | None) -> None:
        self._stage_write(session_id, "SET activity_pages_done = :done, activity_pages_total = :total, "
                          "date_format = :fmt, progress_at = :now",
                          {":done": pages_done, ":total": pages_total, ":fmt": date_format or ""})

    def set_totals(self, session_id: str, *, total_shows: int, total_chunks: int, movies: int,
                   activities: int, rejected: int) -> None:
        """Idempotent: a redelivered split writes the same numbers."""
        self._stage_write(session_id, "SET total_shows = :shows, total_chunks = :chunks, movies = :movies, "
                          "activities = :acts, rejected_rows = :rej, activities_done_at = :now, "
                          "progress_at = :now",
                          {":shows": total_shows, ":chunks": total_chunks, ":movies": movies,
                           ":acts": activities, ":rej": rejected})

    # -- chunk counting ------------------------------------------------------------
    def count_chunk(self, session_id: str, stage: Stage, chunk_id: int, *, shows_done: int,
                    shows_failed: int, dead_lettered: bool = False) -> bool:
        """Count one executed chunk exactly once; False for a duplicate. Raises
        SessionGone when the session is missing, deleted or ended (nothing counted)."""
        prefix = COUNTER_PREFIX[stage]
        chunk_counter = f"{prefix}_chunks_failed" if dead_lettered else f"{prefix}_chunks_done"
        now = iso(self._clock())
        ledger = {"pk": session_pk(session_id), "sk": ledger_sk(stage, chunk_id), "stage": stage.value,
                  "chunk_id": chunk_id, "shows_done": shows_done, "shows_failed": shows_failed,
                  "dead_lettered": dead_lettered, "counted_at": now,
                  TTL_ATTRIBUTE: expires_at(self._clock(), self._ttl_days)}
        update = {
            "TableName": self._name,
            "Key": serialize_item(self._key(session_id)),
            "UpdateExpression": f"ADD {chunk_counter} :one, {prefix}_shows_done :done, "
                                f"{prefix}_shows_failed :failed SET updated_at = :now, progress_at = :now",
            "ConditionExpression": _CRUNCHING,
            "ExpressionAttributeNames": _CRUNCHING_NAMES,
            "ExpressionAttributeValues": serialize_values(
                {":one": 1, ":done": shows_done, ":failed": shows_failed, ":now": now, **_CRUNCHING_VALUES}),
        }
        failed = self._transact([
            {"Put": {"TableName": self._name, "Item": serialize_item(ledger),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": update},
        ])
        if 0 in failed:  # the ledger item exists: counted before
            return False
        if failed:
            raise SessionGone(f"session {session_id} is not crunching; chunk not counted")
        return True

    # -- AI-stage triggers -----------------------------------------------------------
    def claim_trigger(self, session_id: str, stage: Stage) -> bool:
        """Claim a follow-up stage; only one caller ever gets True."""
        flag = TRIGGER_FLAG[stage]
        return self._update_crunching(session_id, f"SET {flag}_requested_at = :now", {},
                                      extra_condition=f"attribute_not_exists({flag}_requested_at)")

    def record_send_failure(self, session_id: str, stage: Stage, next_send_at: datetime) -> bool:
        """A claimed stage whose send failed keeps its claim (a release would let the
        stream loop claim -> fail -> release); the watchdog re-sends at `next_send_at`.
        Bookkeeping, not progress: `progress_at` does not move."""
        flag = TRIGGER_FLAG[stage]
        return self._update_crunching(session_id, f"SET {flag}_next_send_at = :next ADD {flag}_send_attempts :one",
                                      {":next": iso(next_send_at), ":one": 1},
                                      extra_condition=f"attribute_not_exists({flag}_sent_at)")

    def mark_trigger_sent(self, session_id: str, stage: Stage) -> bool:
        flag = TRIGGER_FLAG[stage]
        return self._update_crunching(session_id, f"SET {flag}_sent_at = :now", {})

    def store_ai_result(self, session_id: str, stage: Stage, result: StageResult) -> bool:
        """Write an AI stage's result once, while the session crunches; a second message
        (or a late one, after the session is COMPLETED or FAILED) changes nothing."""
        flag = TRIGGER_FLAG[stage]
        return self._update_crunching(session_id, f"SET {result_attribute(stage)} = :result, {flag}_done_at = :now, "
                                      "progress_at = :now",
                                      {":result": result.stored()},
                                      extra_condition=f"attribute_not_exists({flag}_done_at)")

    # -- chunk waves (tvreport.waves) ------------------------------------------------
    def claim_wave(self, session_id: str, wave: int, *, wave_size: int, chunk_size: int) -> bool:
        """Claim the release of chunk wave `wave`, once. Wave 0 also fixes the session's
        wave and chunk sizes; a later wave needs every earlier one sent, so a wave whose
        send failed is re-sent (by the watchdog) before the next is released."""
        if wave == 0:
            return self._update_crunching(
                session_id, "SET waves_claimed = :next, wave_size = :wsize, chunk_size = :csize",
                {":next": 1, ":wsize": wave_size, ":csize": chunk_size},
                extra_condition="attribute_not_exists(waves_claimed)")
        return self._update_crunching(session_id, "SET waves_claimed = :next", {":next": wave + 1, ":wave": wave},
                                      extra_condition="waves_claimed = :wave AND waves_sent = :wave")

    def mark_wave_sent(self, session_id: str, wave: int) -> bool:
        return self._update_crunching(session_id, "SET waves_sent = :next", {":next": wave + 1},
                                      extra_condition="(attribute_not_exists(waves_sent) OR waves_sent < :next)")

    # -- operator actions (python -m ops) --------------------------------------
    def cancel(self, session_id: str, by: str = "an operator") -> bool:
        """End a session that has not ended yet as FAILED with reason CANCELLED;
        False if it had already ended (or is gone). Stages drop its messages after."""
        return self._update(
            session_id, "SET #state = :failed, failure_reason = :reason, failure_detail = :detail, "
            "ended_at = :now REMOVE active",
            {":failed": State.FAILED.value, ":reason": "CANCELLED", ":detail": f"cancelled by {by}",
             ":crunching": State.CRUNCHING_DATA.value, ":awaiting": State.AWAITING_CONNECTION.value},
            condition="#state IN (:crunching, :awaiting)", names={"#state": "state"})

    def ledger(self, session_id: str) -> list[dict[str, Any]]:
        """Every ledger item of the session (one per counted chunk and stage)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ConsistentRead": True, "KeyConditionExpression":
                                  Key("pk").eq(session_pk(session_id)) & Key("sk").begins_with("CHUNK#")}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def uncount_dead_letter(self, session_id: str, chunk_id: int) -> list[dict[str, Any]]:
        """Take one dead-lettered chunk off the ledger and the counters, so that a re-run
        is counted by the stages' own `count_chunk` (done, or failed again), once.

        One transaction: each of the chunk's dead-lettered ledger items is deleted only
        if it is still dead-lettered with the shows it was counted with, the session's
        counters go down by exactly those numbers, and only while the session is
        crunching (an ended session drops a re-run's messages). Returns the ledger
        items taken off; [] when nothing was dead-lettered or a condition failed (a
        concurrent retry won, or the session ended)."""
        chunk_stages = [spec.stage for spec in CHUNKED]
        keys = [{"pk": session_pk(session_id), "sk": ledger_sk(stage, chunk_id)} for stage in chunk_stages]
        dead = [(stage, item) for stage, key in zip(chunk_stages, keys, strict=False)
                if (item := self._table.get_item(Key=key, ConsistentRead=True).get("Item"))
                and item.get("dead_lettered") is True]
        if not dead:
            return []
        actions: list[str] = []
        values: dict[str, Any] = {":now": iso(self._clock()), ":crunching": State.CRUNCHING_DATA.value,
                                  ":minus_one": -1}
        deletes = []
        for stage, item in dead:
            prefix = COUNTER_PREFIX[stage]
            done, failed = int(item.get("shows_done", 0)), int(item.get("shows_failed", 0))
            values[f":{prefix}_done"], values[f":{prefix}_failed"] = -done, -failed
            actions += [f"{prefix}_chunks_failed :minus_one", f"{prefix}_shows_done :{prefix}_done",
                        f"{prefix}_shows_failed :{prefix}_failed"]
            deletes.append({"Delete": {
                "TableName": self._name, "Key": serialize_item({"pk": item["pk"], "sk": item["sk"]}),
                "ConditionExpression": "dead_lettered = :true AND shows_done = :done AND shows_failed = :failed",
                "ExpressionAttributeValues": serialize_values({":true": True, ":done": done, ":failed": failed}),
            }})
        update = {"Update": {
            "TableName": self._name, "Key": serialize_item(self._key(session_id)),
            "UpdateExpression": f"ADD {', '.join(actions)} SET updated_at = :now",
            "ConditionExpression": "#state = :crunching", "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": serialize_values(values),
        }}
        if self._transact([*deletes, update]):  # a conflict or throttling is retried, then raised
            return []
        return [item for _, item in dead]

    # -- watchdog / deletion -------------------------------------------------------
    def _index_items(self, key_condition: Any) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"IndexName": ACTIVE_INDEX, "KeyConditionExpression": key_condition}
        while True:
            page = self._table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def active_session_ids(self, shard: int) -> Iterator[str]:
        """Crunching sessions of one index shard (keys-only index: ids from `pk`)."""
        for key in self._index_items(Key("active").eq(shard_value(shard))):
            yield str(key["pk"]).removeprefix(session_pk(""))

    def active_sessions(self) -> Iterator[SessionView]:
        for shard in range(ACTIVE_SHARDS):
            for session_id in self.active_session_ids(shard):
                view = self.get(session_id)  # the index lags: re-read, skip what is gone
                if view is not None:
                    yield view

    def tombstone(self, session_id: str, client_token: str | None = None) -> bool:
        """Replace the session item by a tombstone (no personal data, short TTL), once;
        False if it is missing or deleted already. Every later stage write fails. The
        client token stays on it so a purge cut short still finds the token item."""
        now = self._clock()
        item: dict[str, Any] = {**self._key(session_id), "session_id": session_id, "state": DELETED_STATE,
                                "active": TOMBSTONE_ACTIVE, "updated_at": iso(now), "deleted_at": iso(now),
                                "created_at": iso(now),  # whichever of the two sorts the index
                                TTL_ATTRIBUTE: int((now + TOMBSTONE_TTL).timestamp())}
        if client_token:
            item["client_token"] = client_token
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_exists(pk) AND #state <> :deleted",
                                 ExpressionAttributeNames={"#state": "state"},
                                 ExpressionAttributeValues={":deleted": DELETED_STATE})
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def tombstones(self, deleted_before: datetime) -> Iterator[str]:
        """Ids of sessions tombstoned before the moment: their own index partition, ids
        from `pk` and the age from the item, so a keys-only index serves too."""
        for key in self._index_items(Key("active").eq(TOMBSTONE_ACTIVE)):
            session_id = str(key["pk"]).removeprefix(session_pk(""))
            item = self.get_item(session_id)
            if item and item.get("state") == DELETED_STATE and str(item.get("deleted_at", "")) < iso(deleted_before):
                yield session_id

    def purge(self, session_id: str, *, remove_tombstone: bool) -> int:
        """Delete a tombstoned session's ledger and other items and its client token,
        keeping the tombstone unless told; returns items deleted."""
        tombstone = self.get_item(session_id)
        if tombstone is None:
            return 0  # purged already
        if tombstone.get("state") != DELETED_STATE:
            raise RuntimeError("refusing to purge a session that is not deleted")
        client_token = tombstone.get("client_token")
        keys: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(session_pk(session_id)),
                                  "ProjectionExpression": "pk, sk", "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            keys.extend({"pk": i["pk"], "sk": i["sk"]} for i in page.get("Items", []) if i["sk"] != META_SK)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if client_token:
            keys.append({"pk": f"TOKEN#{client_token}", "sk": "TOKEN"})
        deleted = batch_delete(self._table, keys, wait=self._wait)
        if remove_tombstone:  # last, so a purge cut short is found and re-run by the next sweep
            try:
                self._table.delete_item(Key=self._key(session_id), ConditionExpression="#state = :deleted",
                                        ExpressionAttributeNames={"#state": "state"},
                                        ExpressionAttributeValues={":deleted": DELETED_STATE})
                deleted += 1
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return deleted
