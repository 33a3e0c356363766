"""The sessions table: session items, the chunk ledger and client tokens.

Counting is exactly-once: a chunk is counted by one transaction that puts its ledger
item (only if absent) and adds to the session's counters, so a redelivered message
fails the condition and changes nothing."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterator

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from tvreport import aws
from tvreport.observability import SESSIONS_COMPLETED, SESSIONS_FAILED, count, logger
from tvreport.repositories._dynamo import (
    expires_at, iso, serialize_item, serialize_values, to_dynamo, utc_now,
)
from tvreport.session_model import (
    COUNTER_PREFIX, META_SK, TRIGGER_FLAG, SessionView, Stage, State, ledger_sk, session_pk,
)

ACTIVE_INDEX = "active-sessions"


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in ("ConditionalCheckFailedException", "TransactionCanceledException")


class SessionRepository:
    def __init__(self, table_name: str, ttl_days: int, clock: Callable[[], datetime] = utc_now):
        self._name = table_name
        self._ttl_days = ttl_days
        self._clock = clock

    @property
    def _table(self):
        return aws.table(self._name)

    def _key(self, session_id: str) -> dict[str, str]:
        return {"pk": session_pk(session_id), "sk": META_SK}

    def _update(self, session_id: str, expression: str, values: dict[str, Any],
                condition: str | None = None, names: dict[str, str] | None = None) -> bool:
        """One conditional update of the session item; False when the condition fails."""
        if expression.startswith("SET "):  # every change is progress, for the watchdog
            expression = "SET updated_at = :now, " + expression[4:]
        values = {**values, ":now": iso(self._clock())}
        kwargs: dict[str, Any] = {
            "Key": self._key(session_id),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": to_dynamo(values),
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self._table.update_item(**kwargs)
            return True
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise

    # -- lifecycle -------------------------------------------------------------------
    def create(self, session_id: str, *, source: str | None, state: State, threshold_percent: int,
               client_token: str | None = None) -> tuple[str, bool]:
        """Create a session; with a client token, a repeated create returns the first
        session instead (returns (session_id, created))."""
        now = self._clock()
        item: dict[str, Any] = {
            **self._key(session_id), "session_id": session_id, "state": state.value,
            "threshold_percent": threshold_percent, "created_at": iso(now), "updated_at": iso(now),
            "expires_at": expires_at(now, self._ttl_days),
        }
        if source:
            item["source"] = source
        if state is State.CRUNCHING_DATA:
            item["active"] = "1"
        if client_token:
            item["client_token"] = client_token
        puts = [{"Put": {"TableName": self._name, "Item": serialize_item(item),
                         "ConditionExpression": "attribute_not_exists(pk)"}}]
        if client_token:
            token_item = {"pk": f"TOKEN#{client_token}", "sk": "TOKEN", "session_id": session_id,
                          "expires_at": item["expires_at"]}
            puts.append({"Put": {"TableName": self._name, "Item": serialize_item(token_item),
                                 "ConditionExpression": "attribute_not_exists(pk)"}})
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=puts)
            return session_id, True
        except ClientError as error:
            if not (client_token and _conditional_failed(error)):
                raise
        existing = self._table.get_item(Key={"pk": f"TOKEN#{client_token}", "sk": "TOKEN"},
                                        ConsistentRead=True).get("Item")
        if not existing:
            raise RuntimeError("session creation conflicted but no token item exists")
        return str(existing["session_id"]), False

    def get_item(self, session_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key=self._key(session_id), ConsistentRead=True).get("Item")

    def get(self, session_id: str) -> SessionView | None:
        item = self.get_item(session_id)
        return SessionView.from_item(item) if item else None

    def crunching(self, session_id: str) -> SessionView | None:
        """The session if work on it should go on; None (logged) if it ended or is gone,
        so a late or redelivered message is acknowledged without work."""
        view = self.get(session_id)
        if view is None or view.state is not State.CRUNCHING_DATA:
            logger.info("session not crunching; message dropped", extra={"state": view and view.state.value})
            return None
        return view

    def connect(self, session_id: str, source: str) -> bool:
        """AWAITING_CONNECTION -> CRUNCHING_DATA, once."""
        return self._update(
            session_id, "SET #state = :crunching, #source = :source, active = :one",
            {":crunching": State.CRUNCHING_DATA.value, ":awaiting": State.AWAITING_CONNECTION.value,
             ":source": source, ":one": "1"},
            condition="#state = :awaiting", names={"#state": "state", "#source": "source"})

    def fail(self, session_id: str, reason: str, detail: str = "") -> bool:
        """End a crunching session as FAILED with a reason code (first reason wins)."""
        failed = self._update(
            session_id, "SET #state = :failed, failure_reason = :reason, failure_detail = :detail, "
            "ended_at = :now REMOVE active",
            {":failed": State.FAILED.value, ":reason": reason, ":detail": detail[:500],
             ":crunching": State.CRUNCHING_DATA.value},
            condition="#state = :crunching", names={"#state": "state"})
        if failed:  # once per session: the alarm on failed sessions per hour counts these
            count(SESSIONS_FAILED)
        return failed

    def complete(self, session_id: str, statistics: dict[str, Any], partial: bool = False) -> bool:
        completed = self._update(
            session_id, "SET #state = :completed, statistics = :stats, report_partial = :partial, "
            "completed_at = :now, ended_at = :now REMOVE active",
            {":completed": State.COMPLETED.value, ":stats": statistics, ":partial": partial,
             ":crunching": State.CRUNCHING_DATA.value},
            condition="#state = :crunching", names={"#state": "state"})
        if completed:
            count(SESSIONS_COMPLETED)
        return completed

    # -- queryActivities -------------------------------------------------------------
    def record_activity_pages(self, session_id: str, pages_done: int, pages_total: int,
                              date_format: str | None) -> None:
        self._update(session_id, "SET activity_pages_done = :done, activity_pages_total = :total, "
                     "date_format = :fmt",
                     {":done": pages_done, ":total": pages_total, ":fmt": date_format or ""})

    def set_totals(self, session_id: str, *, total_shows: int, total_chunks: int, movies: int,
                   activities: int, rejected: int) -> None:
        """Idempotent: a redelivered split writes the same numbers."""
        self._update(session_id, "SET total_shows = :shows, total_chunks = :chunks, movies = :movies, "
                     "activities = :acts, rejected_rows = :rej, activities_done_at = :now",
                     {":shows": total_shows, ":chunks": total_chunks, ":movies": movies,
                      ":acts": activities, ":rej": rejected})

    # -- chunk counting ------------------------------------------------------------
    def count_chunk(self, session_id: str, stage: Stage, chunk_id: int, *, shows_done: int,
                    shows_failed: int, dead_lettered: bool = False) -> bool:
        """Count one executed chunk exactly once; False for a duplicate."""
        prefix = COUNTER_PREFIX[stage]
        chunk_counter = f"{prefix}_chunks_failed" if dead_lettered else f"{prefix}_chunks_done"
        now = iso(self._clock())
        ledger = {"pk": session_pk(session_id), "sk": ledger_sk(stage, chunk_id), "stage": stage.value,
                  "chunk_id": chunk_id, "shows_done": shows_done, "shows_failed": shows_failed,
                  "dead_lettered": dead_lettered, "counted_at": now,
                  "expires_at": expires_at(self._clock(), self._ttl_days)}
        update = {
            "TableName": self._name,
            "Key": serialize_item(self._key(session_id)),
            "UpdateExpression": f"ADD {chunk_counter} :one, {prefix}_shows_done :done, "
                                f"{prefix}_shows_failed :failed SET updated_at = :now",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": serialize_values(
                {":one": 1, ":done": shows_done, ":failed": shows_failed, ":now": now}),
        }
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=[
                {"Put": {"TableName": self._name, "Item": serialize_item(ledger),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Update": update},
            ])
            return True
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise

    # -- AI-stage triggers -----------------------------------------------------------
    def claim_trigger(self, session_id: str, stage: Stage) -> bool:
        """Claim a follow-up stage; only one caller ever gets True."""
        flag = TRIGGER_FLAG[stage]
        return self._update(session_id, f"SET {flag}_requested_at = :now",
                            {":crunching": State.CRUNCHING_DATA.value},
                            condition=f"attribute_not_exists({flag}_requested_at) AND #state = :crunching",
                            names={"#state": "state"})

    def release_trigger(self, session_id: str, stage: Stage) -> None:
        """Undo a claim whose send failed, so the retried stream record claims again."""
        flag = TRIGGER_FLAG[stage]
        self._update(session_id, f"REMOVE {flag}_requested_at SET updated_at = :now", {},
                     condition=f"attribute_not_exists({flag}_sent_at)")

    def mark_trigger_sent(self, session_id: str, stage: Stage) -> None:
        flag = TRIGGER_FLAG[stage]
        self._update(session_id, f"SET {flag}_sent_at = :now", {})

    def store_ai_result(self, session_id: str, stage: Stage, result: dict[str, Any]) -> bool:
        """Write an AI stage's result once; a second message changes nothing."""
        flag = TRIGGER_FLAG[stage]
        return self._update(session_id, f"SET {stage.value}_result = :result, {flag}_done_at = :now",
                             {":result": result}, condition=f"attribute_not_exists({flag}_done_at)")

    # -- operator actions (python -m ops) --------------------------------------
    def cancel(self, session_id: str) -> bool:
        """End a session that has not ended yet as FAILED with reason CANCELLED;
        False if it had already ended (or is gone). Stages drop its messages after."""
        return self._update(
            session_id, "SET #state = :failed, failure_reason = :reason, failure_detail = :detail, "
            "ended_at = :now REMOVE active",
            {":failed": State.FAILED.value, ":reason": "CANCELLED", ":detail": "cancelled by an operator",
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
        chunk_stages = [Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES]
        keys = [{"pk": session_pk(session_id), "sk": ledger_sk(stage, chunk_id)} for stage in chunk_stages]
        dead = [(stage, item) for stage, key in zip(chunk_stages, keys)
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
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=[*deletes, update])
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                return []
            raise  # TransactionConflict or throttling: nothing changed, the caller may retry
        return [item for _, item in dead]

    # -- watchdog / deletion -------------------------------------------------------
    def active_sessions(self) -> Iterator[SessionView]:
        kwargs: dict[str, Any] = {"IndexName": ACTIVE_INDEX, "KeyConditionExpression": Key("active").eq("1")}
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                full = self.get_item(str(item["session_id"]))
                if full:
                    yield SessionView.from_item(full)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self, session_id: str) -> int:
        """Delete the session item, its ledger and its client token; returns items deleted."""
        item = self.get_item(session_id)
        keys = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(session_pk(session_id)),
                                  "ProjectionExpression": "pk, sk"}
        while True:
            page = self._table.query(**kwargs)
            keys.extend({"pk": i["pk"], "sk": i["sk"]} for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if item and item.get("client_token"):
            keys.append({"pk": f"TOKEN#{item['client_token']}", "sk": "TOKEN"})
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)
        return len(keys)
