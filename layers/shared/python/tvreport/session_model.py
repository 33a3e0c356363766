"""The session item: states, the stage names (declared in tvreport.schema), and a typed view of the stored item.

The same view is built from a DynamoDB stream image (tracker) and from a GetItem
(API), so decisions never depend on how many records were seen."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

from tvreport.results import StageResult
from tvreport.schema import (
    CHUNKED,
    FOLLOW_UPS,
    Stage as Stage,  # re-exported: declared in the stage registry
    result_attribute as result_attribute,
)
from tvreport.stored_values import from_dynamo


class State(str, Enum):
    AWAITING_CONNECTION = "AWAITING_CONNECTION"
    CRUNCHING_DATA = "CRUNCHING_DATA"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


# Internal only, never shown: DELETE replaces the session item with a tombstone in
# this state, so every stage write (conditional on CRUNCHING_DATA) fails until the
# delayed purge removes the tombstone. Tombstones sit in the sparse active index
# under their own partition value, for that purge to find.
DELETED_STATE = "DELETED"
TOMBSTONE_ACTIVE = "deleted"


class SessionGone(LookupError):
    """The session item is missing, deleted (tombstoned), stateless, or no longer
    crunching: work for it is acknowledged and dropped."""


_PUBLIC_STATES = frozenset(state.value for state in State)

# From the stage registry (tvreport.schema): the chunked stages' counter prefixes and
# the follow-up stages' trigger flags (<flag>_requested_at, <flag>_sent_at, <flag>_done_at).
COUNTER_PREFIX: dict[Stage, str] = {s.stage: s.counter_prefix for s in CHUNKED if s.counter_prefix}
TRIGGER_FLAG: dict[Stage, str] = {s.stage: s.trigger_flag for s in FOLLOW_UPS if s.trigger_flag}


def session_pk(session_id: str) -> str:
    return f"SESSION#{session_id}"


META_SK = "META"

# The active-sessions index is sharded: a session carries `active` = "1#<shard>" while
# it crunches, so no index partition key value takes every session's writes.
ACTIVE_SHARDS = 16


def active_shard(session_id: str) -> str:
    """The `active` value of a crunching session: stable, spread by a hash of its id."""
    digest = hashlib.sha256(session_id.encode("utf-8")).digest()
    return f"1#{int.from_bytes(digest[:4], 'big') % ACTIVE_SHARDS}"


def shard_value(shard: int) -> str:
    return f"1#{shard}"


def ledger_sk(stage: Stage, chunk_id: int) -> str:
    return f"CHUNK#{stage.value}#{chunk_id:05d}"


def _result(result_type: type[StageResult], stored: Any) -> StageResult | None:
    return None if stored is None else result_type.model_validate(from_dynamo(stored))


def _int(item: Mapping[str, Any], key: str) -> int:
    value = item.get(key)
    return int(value) if isinstance(value, (int, Decimal)) else 0


@dataclass(frozen=True)
class ChunkCounters:
    shows_done: int = 0
    shows_failed: int = 0
    chunks_done: int = 0
    chunks_failed: int = 0

    @property
    def chunks_executed(self) -> int:
        return self.chunks_done + self.chunks_failed

    @property
    def shows_executed(self) -> int:
        return self.shows_done + self.shows_failed


@dataclass(frozen=True)
class Trigger:
    """A follow-up stage's claim, send and result stamps on the session item."""

    requested_at: str | None = None
    sent_at: str | None = None
    done_at: str | None = None
    send_attempts: int = 0
    next_send_at: str | None = None  # set by a failed send: when the watchdog re-sends


@dataclass(frozen=True)
class Waves:
    """Chunk waves (tvreport.waves): sizes fixed by wave 0, then how many are claimed and sent."""

    size: int = 0
    chunk_size: int = 0
    claimed: int = 0
    sent: int = 0


@dataclass(frozen=True)
class SessionView:
    session_id: str
    state: State
    threshold_percent: int
    total_shows: int | None  # None until queryActivities has split the history
    total_chunks: int | None
    activity_pages_done: int
    activity_pages_total: int | None
    chunks: Mapping[Stage, ChunkCounters]  # every chunked stage's (tvreport.schema.CHUNKED), in pipeline order
    requested: frozenset[Stage]  # AI stages whose trigger has been claimed
    sent: frozenset[Stage]
    done: frozenset[Stage]
    failure_reason: str | None
    updated_at: str | None  # any write, bookkeeping included
    progress_at: str | None  # only writes that are progress (counts, pages, totals, AI results)
    source: str | None = None
    created_at: str | None = None
    completed_at: str | None = None
    movies: int | None = None
    activities: int | None = None
    rejected_rows: int | None = None
    triggers: Mapping[Stage, Trigger] = field(default_factory=dict)
    waves: Waves = Waves()
    results: Mapping[Stage, StageResult | None] = field(default_factory=dict)  # follow-up results, typed
    statistics: Mapping[str, Any] = field(default_factory=dict)  # the final report's, plain
    report_partial: bool = False
    client_token: str | None = None
    start_digest: str | None = None  # what a replayed create must match to re-send its start
    start_sent: bool = False  # the first stage's message was queued

    @property
    def activities_done(self) -> bool:
        return self.total_chunks is not None

    # The two chunked stages by name, for the rules about one of them (tvBFF runs on
    # show data alone; chunk waves pace on the last stage's executed chunks).
    @property
    def show_data(self) -> ChunkCounters:
        return self.chunks[Stage.QUERY_SHOW_DATA]

    @property
    def rotten_tomatoes(self) -> ChunkCounters:
        return self.chunks[Stage.CRAWL_ROTTEN_TOMATOES]

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> SessionView:
        """Raises SessionGone for a tombstone or an item without a public state (a
        stray write must never pass for a session)."""
        if item.get("state") not in _PUBLIC_STATES:
            raise SessionGone("the session item is deleted or has no state")

        def counters(p: str) -> ChunkCounters:
            return ChunkCounters(_int(item, f"{p}_shows_done"), _int(item, f"{p}_shows_failed"),
                                 _int(item, f"{p}_chunks_done"), _int(item, f"{p}_chunks_failed"))

        def flagged(suffix: str) -> frozenset[Stage]:
            return frozenset(s for s, f in TRIGGER_FLAG.items() if item.get(f"{f}_{suffix}"))

        def optional_int(key: str) -> int | None:
            return _int(item, key) if key in item else None

        def trigger(flag: str) -> Trigger:
            return Trigger(item.get(f"{flag}_requested_at"), item.get(f"{flag}_sent_at"), item.get(f"{flag}_done_at"),
                           _int(item, f"{flag}_send_attempts"), item.get(f"{flag}_next_send_at"))

        return cls(
            session_id=str(item["session_id"]),
            state=State(item["state"]),
            threshold_percent=_int(item, "threshold_percent") or 100,
            total_shows=_int(item, "total_shows") if "total_shows" in item else None,
            total_chunks=_int(item, "total_chunks") if "total_chunks" in item else None,
            activity_pages_done=_int(item, "activity_pages_done"),
            activity_pages_total=_int(item, "activity_pages_total") if "activity_pages_total" in item else None,
            chunks={stage: counters(prefix) for stage, prefix in COUNTER_PREFIX.items()},
            requested=flagged("requested_at"),
            sent=flagged("sent_at"),
            done=flagged("done_at"),
            failure_reason=item.get("failure_reason"),
            updated_at=item.get("updated_at"),
            progress_at=item.get("progress_at") or item.get("created_at"),
            source=item.get("source"),
            created_at=item.get("created_at"),
            completed_at=item.get("completed_at"),
            movies=optional_int("movies"),
            activities=optional_int("activities"),
            rejected_rows=optional_int("rejected_rows"),
            triggers={stage: trigger(flag) for stage, flag in TRIGGER_FLAG.items()},
            waves=Waves(_int(item, "wave_size"), _int(item, "chunk_size"), _int(item, "waves_claimed"),
                        _int(item, "waves_sent")),
            results={spec.stage: _result(spec.result_type, item.get(spec.result_attribute)) for spec in FOLLOW_UPS},
            statistics=from_dynamo(item.get("statistics") or {}),
            report_partial=bool(item.get("report_partial")),
            client_token=item.get("client_token"),
            start_digest=item.get("start_digest"),
            start_sent="start_sent_at" in item,
        )
