"""Watchdog (scheduled): re-sends follow-up claims left unsent by a crash, and ends
sessions that made no progress for too long — COMPLETED with what they have when
the thresholds are met, FAILED otherwise."""
from __future__ import annotations

from datetime import datetime, timedelta

from tvreport.observability import logger
from tvreport.progress import is_ready
from tvreport.repositories._dynamo import utc_now
from tvreport.session_model import TRIGGER_FLAG, SessionView
from tvreport.stages import purge
from tvreport.stages.tracker import TrackerDeps, finalize, send

RESEND_AFTER = timedelta(minutes=2)


def _age(stamp: str | None, now: datetime) -> timedelta:
    if not stamp:
        return timedelta(0)
    return now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def sweep(deps: TrackerDeps, stall_timeout: timedelta, now: datetime | None = None) -> dict[str, int]:
    now = now or utc_now()
    outcome = {"resent": 0, "completed": 0, "failed": 0}
    for view in deps.sessions.active_sessions():
        for stage in sorted(view.requested - view.sent, key=lambda s: s.value):
            if _age(view.item.get(f"{TRIGGER_FLAG[stage]}_requested_at"), now) >= RESEND_AFTER:
                send(view.session_id, stage, deps.queue_urls)
                deps.sessions.mark_trigger_sent(view.session_id, stage)
                outcome["resent"] += 1
        if _age(view.updated_at, now) < stall_timeout:
            continue
        if _thresholds_met(view):
            outcome["completed"] += finalize(view, deps, partial=True)
        else:
            outcome["failed"] += deps.sessions.fail(view.session_id, "STALLED", "no progress before the stall timeout")
    purge.sweep_deleted(deps.sessions, deps.viewing, now)  # second pass of DELETE: stragglers, tombstones
    logger.info("watchdog sweep", extra=outcome)
    return outcome


def _thresholds_met(view: SessionView) -> bool:
    return view.activities_done and is_ready(view, view.show_data) and is_ready(view, view.rotten_tomatoes)
