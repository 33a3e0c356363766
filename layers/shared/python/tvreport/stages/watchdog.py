"""Watchdog (scheduled), per crunching session, each isolated from the others:
- re-sends a claimed stage whose send failed or never happened, with backoff;
- for a quiet session, runs the tracker's steps again (a stream record lost after
  its retries leaves a due stage, wave or completion undone), and re-sends an
  unsent chunk wave;
- ends a session with no *progress* (counted chunks, pages, totals, AI results;
  claims and sent marks do not count) for the stall timeout: COMPLETED with what it
  has when the thresholds are met, FAILED otherwise."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from tvreport.clock import utc_now
from tvreport.observability import logger, metrics
from tvreport.progress import all_ready
from tvreport.session_model import ACTIVE_SHARDS, SessionView, Stage, State
from tvreport.stages import chunk_waves, purge
from tvreport.stages.tracker import TrackerDeps, act, finalize, send_claimed
from tvreport.waves import unsent_wave

OUTCOMES = ("resent", "acted", "completed", "failed", "purged", "errors")


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def _age(stamp: str | None, now: datetime) -> timedelta:
    moment = _parse(stamp)
    return now - moment if moment else timedelta(0)


def sweep(deps: TrackerDeps, stall_timeout: timedelta, now: datetime | None = None,
          purge_after: timedelta = purge.PURGE_AFTER) -> dict[str, int]:
    now = now or utc_now()
    outcome: Counter[str] = Counter({name: 0 for name in OUTCOMES})
    for shard in range(ACTIVE_SHARDS):
        try:
            session_ids = list(deps.sessions.active_session_ids(shard))
        except Exception:
            _error(outcome, "watchdog: index shard query failed", shard=shard)
            continue
        for session_id in session_ids:
            try:
                check(session_id, deps, stall_timeout, now, outcome)
            except Exception:
                _error(outcome, "watchdog: session check failed", session_id=session_id)
    try:  # second pass of DELETE: stragglers, tombstones (isolated per session inside)
        outcome["purged"] += purge.sweep_deleted(deps.sessions, deps.viewing, now, after=purge_after)
    except Exception:
        _error(outcome, "watchdog: purge of deleted sessions failed")
    result = {name: outcome[name] for name in OUTCOMES}
    logger.info("watchdog sweep", extra=result)
    return result


def _error(outcome: Counter[str], message: str, **keys: object) -> None:
    """One session's (or shard's) error is logged and counted; the sweep goes on."""
    outcome["errors"] += 1
    metrics.add_metric(name="WatchdogErrors", unit=MetricUnit.Count, value=1)
    logger.exception(message, extra=keys)


def check(session_id: str, deps: TrackerDeps, stall_timeout: timedelta, now: datetime,
          outcome: Counter[str]) -> None:
    view = deps.sessions.get(session_id)
    if view is None or view.state is not State.CRUNCHING_DATA:
        return
    busy = False  # work sent this sweep: give it its time before ending the session
    for stage in sorted(view.requested - view.sent, key=lambda s: s.value):
        if now >= resend_due(view, stage, deps.resend_after):
            attempts = view.triggers[stage].send_attempts
            busy |= send_claimed(session_id, stage, attempts, deps, now)
            outcome["resent"] += 1
    if _age(view.updated_at, now) >= deps.resend_after:  # quiet: the tracker had its chance
        if unsent_wave(view) is not None:
            busy |= _resend_wave(view, deps)
            outcome["resent"] += 1
        decision = act(view, deps)
        if decision.emit or decision.wave is not None or decision.complete:
            outcome["acted"] += 1
            busy = True
        if decision.complete:
            return
    if busy or _age(view.progress_at, now) < stall_timeout:
        return
    if thresholds_met(view):
        outcome["completed"] += finalize(view, deps, partial=True)
    else:
        outcome["failed"] += deps.sessions.fail(session_id, "STALLED", "no progress before the stall timeout")


def _resend_wave(view: SessionView, deps: TrackerDeps) -> bool:
    """A failed re-send is tried again next sweep; it must not keep the stall check
    from ending the session."""
    try:
        return chunk_waves.resend(view, deps.waves)
    except Exception as error:
        metrics.add_metric(name="WaveSendFailed", unit=MetricUnit.Count, value=1)
        logger.warning("chunk wave re-send failed", extra={"session_id": view.session_id,
                                                          "error": type(error).__name__})
        return False


def resend_due(view: SessionView, stage: Stage, resend_after: timedelta) -> datetime:
    """When a claimed, unsent stage is sent again: at the time its last failure set,
    else (a crash between claim and send) `resend_after` after the claim."""
    trigger = view.triggers[stage]
    recorded = _parse(trigger.next_send_at)
    if recorded:
        return recorded
    claimed = _parse(trigger.requested_at)
    return (claimed + resend_after) if claimed else datetime.min.replace(tzinfo=UTC)


def thresholds_met(view: SessionView) -> bool:
    return view.activities_done and all_ready(view)
