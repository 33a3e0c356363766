"""Progress tracker: reads each new image of a session item, emits the follow-up
stages it calls for (each claimed once) and completes the session."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from tvreport import publisher
from tvreport.messages import AiStageRequest
from tvreport.observability import logger
from tvreport.progress import decide
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import META_SK, SessionView, Stage
from tvreport.stages.report_inputs import load_inputs


@dataclass
class TrackerDeps:
    sessions: SessionRepository
    viewing: ViewingRepository
    cache: ShowCacheRepository
    queue_urls: Mapping[Stage, str]  # TV_BFF and STAR_SIGN


def on_session_image(new_image: Mapping[str, Any] | None, deps: TrackerDeps) -> None:
    if not new_image or new_image.get("sk") != META_SK:
        return  # ledger, token items, deletions
    view = SessionView.from_item(new_image)
    decision = decide(view)
    for stage in sorted(decision.emit, key=lambda s: s.value):
        emit(view.session_id, stage, deps)
    if decision.complete:
        finalize(view, deps, partial=False)


def emit(session_id: str, stage: Stage, deps: TrackerDeps) -> None:
    """Claim, then send. A failed send releases the claim and raises, so the retried
    record claims and sends again; a crash in between is left to the watchdog."""
    if not deps.sessions.claim_trigger(session_id, stage):
        return
    try:
        send(session_id, stage, deps.queue_urls)
    except Exception:
        deps.sessions.release_trigger(session_id, stage)
        raise
    deps.sessions.mark_trigger_sent(session_id, stage)
    logger.info("stage emitted", extra={"stage": stage.value})


def send(session_id: str, stage: Stage, queue_urls: Mapping[Stage, str]) -> None:
    publisher.send(queue_urls[stage], [AiStageRequest(session_id=session_id, stage=stage.value)])


def finalize(view: SessionView, deps: TrackerDeps, partial: bool) -> bool:
    statistics = load_inputs(view, deps.viewing, deps.cache).statistics().to_dict()
    completed = deps.sessions.complete(view.session_id, statistics, partial=partial)
    logger.info("session completed" if completed else "session already ended", extra={"partial": partial})
    return completed
