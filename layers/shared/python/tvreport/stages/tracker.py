"""Progress tracker: reads each new image of a session item, emits the follow-up
stages it calls for (each claimed once), releases the next chunk wave, and
completes the session. The watchdog runs the same steps for quiet sessions, so a
stream record lost after its retries leaves nothing undone."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from tvreport import publisher
from tvreport.clock import utc_now
from tvreport.messages import AiStageRequest
from tvreport.observability import logger, metrics
from tvreport.progress import Decision, decide
from tvreport.repositories.protocols import SessionStore, ShowCacheStore, ViewingStore
from tvreport.session_model import META_SK, SessionView, Stage
from tvreport.stages import chunk_waves, picks
from tvreport.stages.report_inputs import load_inputs

# The deploy option resend_after_seconds: the first re-send of a failed (or crashed) send.
RESEND_AFTER = timedelta(minutes=2)
RESEND_AT_MOST_EVERY = timedelta(minutes=30)


@dataclass
class TrackerDeps:
    sessions: SessionStore
    viewing: ViewingStore
    cache: ShowCacheStore
    queue_urls: Mapping[Stage, str]  # one per follow-up stage (tvreport.schema.FOLLOW_UPS)
    show_data_queue_url: str  # chunk waves
    resend_after: timedelta = RESEND_AFTER

    @property
    def waves(self) -> chunk_waves.WaveDeps:
        return chunk_waves.WaveDeps(self.sessions, self.viewing, self.show_data_queue_url)


def on_session_image(new_image: Mapping[str, Any] | None, deps: TrackerDeps) -> None:
    if not new_image or new_image.get("sk") != META_SK:
        return  # ledger, token items, deletions
    act(SessionView.from_item(new_image), deps)


def act(view: SessionView, deps: TrackerDeps) -> Decision:
    """Do what the session state calls for: emit, release a wave, complete."""
    decision = decide(view)
    for stage in sorted(decision.emit, key=lambda s: s.value):
        emit(view, stage, deps)
    if decision.wave is not None:
        _release_wave(view, decision.wave, deps)
    if decision.complete:
        finalize(view, deps, partial=False)
    return decision


def emit(view: SessionView, stage: Stage, deps: TrackerDeps) -> bool:
    """Claim, then send. A failed send keeps the claim and is recorded for the
    watchdog to re-send with backoff; the record is not failed, so a send that keeps
    failing neither blocks the shard nor loops claim -> release -> claim."""
    if not deps.sessions.claim_trigger(view.session_id, stage):
        return False
    send_claimed(view.session_id, stage, attempts_so_far=0, deps=deps)
    return True


def send_claimed(session_id: str, stage: Stage, attempts_so_far: int, deps: TrackerDeps,
                 now: datetime | None = None) -> bool:
    """Send a claimed stage; on failure record the attempt and when to try again."""
    try:
        publisher.send(deps.queue_urls[stage], [AiStageRequest(session_id=session_id, stage=stage)])
    except Exception as error:  # any failure: the claim stays, the watchdog retries
        attempts = attempts_so_far + 1
        next_at = (now or utc_now()) + backoff(attempts, deps.resend_after)
        deps.sessions.record_send_failure(session_id, stage, next_at)
        metrics.add_metric(name="StageSendFailed", unit=MetricUnit.Count, value=1)
        logger.warning("stage send failed; the watchdog re-sends it",
                       extra={"stage": stage.value, "attempts": attempts, "error": type(error).__name__})
        return False
    deps.sessions.mark_trigger_sent(session_id, stage)
    logger.info("stage emitted", extra={"stage": stage.value})
    return True


def backoff(attempts: int, first: timedelta = RESEND_AFTER) -> timedelta:
    """Wait before re-send number `attempts`: first, twice that, ... at most 30 minutes
    (2, 4, 8, 16, then 30 minutes by default)."""
    return min(first * 2 ** max(0, attempts - 1), RESEND_AT_MOST_EVERY)


def _release_wave(view: SessionView, wave: int, deps: TrackerDeps) -> None:
    try:
        chunk_waves.release(view, wave, deps.waves)
    except Exception as error:  # the claim stays; the watchdog re-sends the unsent wave
        metrics.add_metric(name="WaveSendFailed", unit=MetricUnit.Count, value=1)
        logger.warning("chunk wave send failed; the watchdog re-sends it",
                       extra={"wave": wave, "error": type(error).__name__})


def finalize(view: SessionView, deps: TrackerDeps, partial: bool) -> bool:
    statistics = load_inputs(view, deps.viewing, deps.cache).statistics()
    star_sign = picks.final_star_sign(view.results.get(Stage.STAR_SIGN), statistics)
    completed = deps.sessions.complete(view.session_id, statistics, partial=partial, star_sign=star_sign)
    logger.info("session completed" if completed else "session already ended", extra={"partial": partial})
    return completed
