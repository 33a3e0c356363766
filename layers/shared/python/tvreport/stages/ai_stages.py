"""tvBFF and starSignPicker: pick with AI (rule fallback without a key), store the
result once. A second message for the same session changes nothing."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from tvreport.clients.ai import TvPersonalityAI
from tvreport.clients.ai_rules import rule_star_sign_pick
from tvreport.messages import AiStageRequest
from tvreport.observability import logger
from tvreport.repositories.protocols import SessionStore, ShowCacheStore, ViewingStore
from tvreport.session_model import Stage
from tvreport.stages.report_inputs import load_inputs
from tvreport.stats import ViewingStatistics, top_show_for_bff


@dataclass
class AiDeps:
    sessions: SessionStore
    viewing: ViewingStore
    cache: ShowCacheStore
    ai: Callable[[], TvPersonalityAI]


def handle(message: AiStageRequest, deps: AiDeps) -> None:
    stage = Stage(message.stage)
    view = deps.sessions.crunching(message.session_id)
    if view is None or stage in view.done:
        return
    inputs = load_inputs(view, deps.viewing, deps.cache)
    result = _pick_bff(inputs, deps) if stage is Stage.TV_BFF else _pick_star_sign(inputs, deps)
    stored = deps.sessions.store_ai_result(message.session_id, stage, result)
    logger.info("ai stage done", extra={"stage": stage.value, "source": result.get("source"), "stored": stored})


def _plain(pick: Any) -> dict[str, Any]:
    """A pick as the API shows it (camelCase keys, like the rest of the report)."""
    data = asdict(pick) if is_dataclass(pick) else dict(pick.model_dump())  # type: ignore[arg-type]  # an instance
    return {_camel(key): value for key, value in data.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _pick_bff(inputs, deps: AiDeps) -> dict[str, Any]:
    show = top_show_for_bff(inputs.records, inputs.shows)
    if show is None:
        return {"available": False, "reason": "NO_SHOW_WITH_CAST"}
    genres = [(g.genre, g.percent) for g in inputs.statistics().top_genres]
    pick = _plain(deps.ai().pick_bff(show.name, show.cast, genres))
    return {"available": True, "show": show.name, "tmdbId": show.tmdb_id, **pick}


def _star_sign_inputs(stats: ViewingStatistics) -> tuple[list[tuple[str, float]], float | None, list[str]]:
    """What a star sign is picked from: top genres, average score, top shows."""
    return ([(g.genre, g.percent) for g in stats.top_genres], stats.average_rt_score.score,
            [s.title for s in stats.top_shows])


def _pick_star_sign(inputs, deps: AiDeps) -> dict[str, Any]:
    pick = _plain(deps.ai().pick_star_sign(*_star_sign_inputs(inputs.statistics())))
    return {"available": True, **pick}


def final_star_sign(stored: dict[str, Any] | None, stats: ViewingStatistics) -> dict[str, Any] | None:
    """The star sign the finished report shows. starSignPicker runs at the 97 % mark,
    on the scores crawled by then, so which shows it saw depends on timing. A rules
    pick is a function of its inputs: it is re-derived from the complete data, so its
    quips agree with the report's statistics and a session's report does not depend
    on delivery order. An OpenAI pick is kept as the model wrote it. None: nothing
    to change."""
    if not stored or stored.get("source") != "rules":
        return None
    final = {"available": True, **_plain(rule_star_sign_pick(*_star_sign_inputs(stats)))}
    return None if final == stored else final
