"""Deleting a session's personal data in two passes.

DELETE tombstones the session item first (every stage write is conditional on the
session crunching, so none lands after it), then deletes what exists. A stage that
was mid-flight can still add viewing records (they are keyed by session, not
conditional on it), so the watchdog's sweep re-runs the purge for tombstones older
than any invocation can run, then removes the tombstone itself."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tvreport import aws
from tvreport.clock import utc_now
from tvreport.observability import logger
from tvreport.repositories.protocols import SessionStore, ViewingStore
from tvreport.schema import upload_key

# The default of the deploy option purge_delay_seconds: longer than the longest stage
# timeout (300 s), so an invocation that read the session before its tombstone has
# ended by then, and a later one sees the tombstone.
PURGE_AFTER = timedelta(seconds=360)


@dataclass(frozen=True)
class Purged:
    viewing_records: int
    session_items: int


def purge_session(session_id: str, sessions: SessionStore, viewing: ViewingStore,
                  *, remove_tombstone: bool, uploads_bucket: str | None = None) -> Purged:
    """Everything of a tombstoned session: viewing records, the uploaded export (when
    a bucket is given), the ledger and token items, and last the tombstone if told."""
    records = viewing.delete_session(session_id)
    if uploads_bucket:
        aws.client("s3").delete_object(Bucket=uploads_bucket, Key=upload_key(session_id))
    return Purged(records, sessions.purge(session_id, remove_tombstone=remove_tombstone))


def sweep_deleted(sessions: SessionStore, viewing: ViewingStore, now: datetime | None = None,
                  after: timedelta = PURGE_AFTER) -> int:
    """The second pass, from the watchdog: purge stragglers of sessions deleted more
    than `after` ago and remove their tombstones. One session's error does not stop
    the others (its tombstone stays, so the next sweep tries again)."""
    cutoff = (now or utc_now()) - after
    done = 0
    for session_id in list(sessions.tombstones(deleted_before=cutoff)):
        try:
            purged = purge_session(session_id, sessions, viewing, remove_tombstone=True)
        except Exception:
            logger.exception("purge of a deleted session failed", extra={"session_id": session_id})
            continue
        done += 1
        if purged.viewing_records:
            logger.info("stragglers of a deleted session removed", extra={
                "session_id": session_id, "viewing_records": purged.viewing_records})
    if done:
        logger.info("deleted sessions purged", extra={"sessions": done})
    return done
