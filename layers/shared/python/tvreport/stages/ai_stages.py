"""tvBFF and starSignPicker: pick with AI (rule fallback without a key), store the
result once. A second message for the same session changes nothing."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tvreport.clients.ai import TvPersonalityAI
from tvreport.messages import AiStageRequest
from tvreport.observability import logger
from tvreport.repositories.protocols import SessionStore, ShowCacheStore, ViewingStore
from tvreport.results import BffResult, StageResult, StarSignResult
from tvreport.session_model import Stage
from tvreport.stages.picks import star_sign_inputs
from tvreport.stages.report_inputs import ReportInputs, load_inputs
from tvreport.stats import top_show_for_bff


@dataclass
class AiDeps:
    sessions: SessionStore
    viewing: ViewingStore
    cache: ShowCacheStore
    ai: Callable[[], TvPersonalityAI]


def handle(message: AiStageRequest, deps: AiDeps) -> None:
    stage = message.stage
    view = deps.sessions.crunching(message.session_id)
    if view is None or stage in view.done:
        return
    inputs = load_inputs(view, deps.viewing, deps.cache)
    result = _pick_bff(inputs, deps) if stage is Stage.TV_BFF else _pick_star_sign(inputs, deps)
    stored = deps.sessions.store_ai_result(message.session_id, stage, result)
    logger.info("ai stage done", extra={"stage": stage.value, "source": getattr(result, "source", None),
                                        "stored": stored})


def _pick_bff(inputs: ReportInputs, deps: AiDeps) -> StageResult:
    show = top_show_for_bff(inputs.records, inputs.shows)
    if show is None:
        return StageResult.unavailable("NO_SHOW_WITH_CAST")
    genres = [(g.genre, g.percent) for g in inputs.statistics().top_genres]
    return BffResult.of(show.name, show.tmdb_id, deps.ai().pick_bff(show.name, show.cast, genres))


def _pick_star_sign(inputs: ReportInputs, deps: AiDeps) -> StarSignResult:
    return StarSignResult.of(deps.ai().pick_star_sign(*star_sign_inputs(inputs.statistics())))
