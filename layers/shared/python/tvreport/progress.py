"""Pure progress rules: per-stage percentages, readiness, and which follow-ups an
update calls for. No I/O: the tracker, the watchdog and the API all ask here."""
from __future__ import annotations

from dataclasses import dataclass

from tvreport.schema import FOLLOW_UPS, REQUIRED_BEFORE_COMPLETED, Trigger
from tvreport.session_model import ChunkCounters, SessionView, Stage, State
from tvreport.waves import due_wave


def _percent(executed: int, total: int) -> int:
    """0 % known but not started, 1–99 % in progress, 100 % done."""
    if total <= 0:
        return 100
    if executed >= total:
        return 100
    if executed <= 0:
        return 0
    return min(99, max(1, (100 * executed) // total))


def chunk_stage_percent(view: SessionView, counters: ChunkCounters) -> int:
    if view.total_chunks is None or view.total_shows is None:
        return 0
    if view.total_chunks and counters.chunks_executed >= view.total_chunks:
        return 100
    return _percent(counters.shows_executed, view.total_shows)


def activities_percent(view: SessionView) -> int:
    if view.activities_done:
        return 100
    return _percent(view.activity_pages_done, view.activity_pages_total or 0) if view.activity_pages_total else 0


def is_complete(view: SessionView, counters: ChunkCounters) -> bool:
    """Every chunk executed (done or dead-lettered)."""
    return view.total_chunks is not None and counters.chunks_executed >= view.total_chunks


def is_ready(view: SessionView, counters: ChunkCounters) -> bool:
    """Ready: processed shows (done + failed: a show not on TMDB or without a score has
    been processed) reach the threshold, or every chunk has been executed. Coverage
    (shows found, shows scored) is a figure of the report, never the trigger."""
    if is_complete(view, counters):
        return True
    if not view.total_shows:
        return False
    return 100 * counters.shows_executed >= view.threshold_percent * view.total_shows


def stage_percentages(view: SessionView) -> dict[Stage, int]:
    """Every stage's percent, in the registry's order (tvreport.schema.STAGES)."""
    percents = {
        Stage.QUERY_ACTIVITIES: activities_percent(view),
        **{stage: chunk_stage_percent(view, counters) for stage, counters in view.chunks.items()},
    }
    for spec in FOLLOW_UPS:  # 1 % once claimed, 100 % once its result is stored
        percents[spec.stage] = 100 if spec.stage in view.done else (1 if spec.stage in view.requested else 0)
    return percents


def triggered(trigger: Trigger, view: SessionView) -> bool:
    """Whether a follow-up stage with this trigger is due (before its claim)."""
    if trigger is Trigger.SHOW_DATA_COMPLETE:
        return is_complete(view, view.show_data)
    return all_ready(view)


def all_ready(view: SessionView) -> bool:
    """Every chunked stage processed to the session's threshold."""
    return all(is_ready(view, counters) for counters in view.chunks.values())


def all_complete(view: SessionView) -> bool:
    """Every chunk of every chunked stage executed."""
    return all(is_complete(view, counters) for counters in view.chunks.values())


@dataclass(frozen=True)
class Decision:
    emit: frozenset[Stage]  # follow-up stages to claim and send
    complete: bool  # mark the session COMPLETED
    wave: int | None = None  # the chunk wave to claim and release (tvreport.waves)


def decide(view: SessionView) -> Decision:
    """What this session state calls for. A claimed stage is never emitted again
    here (the claim is the exactly-once guard; the watchdog re-sends stale claims)."""
    if view.state is not State.CRUNCHING_DATA or not view.activities_done:
        return Decision(frozenset(), False)
    wanted = {spec.stage for spec in FOLLOW_UPS if spec.trigger is not None and triggered(spec.trigger, view)}
    emit = frozenset(wanted - view.requested)
    # The report is final only when every required follow-up stage is done and every
    # chunk has executed, so a repeated or raced run computes the same statistics.
    complete = view.done >= REQUIRED_BEFORE_COMPLETED and all_complete(view)
    return Decision(emit, complete, None if complete else due_wave(view))
