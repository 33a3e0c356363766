"""crawlRottenTomatoes: critics and audience scores per show, cached with the show;
"no page" and "no score" are normal outcomes, counted as shows without a score."""
from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from typing import Any, Callable

from aws_lambda_powertools.metrics import MetricUnit

from tvreport.clients.errors import UpstreamError, upstream_fields
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.messages import RtChunk, RtShowRef
from tvreport.observability import logger, metrics
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.session_model import Stage


@dataclass
class CrawlDeps:
    sessions: SessionRepository
    cache: ShowCacheRepository
    rotten_tomatoes: Callable[[], RottenTomatoesClient]


def handle(message: RtChunk, deps: CrawlDeps) -> None:
    if deps.sessions.crunching(message.session_id) is None:
        return
    scored = sum(1 for ref in message.shows if _has_score(_scores_for(ref, deps)))
    unscored = len(message.shows) - scored + message.not_on_tmdb
    counted = deps.sessions.count_chunk(message.session_id, Stage.CRAWL_ROTTEN_TOMATOES, message.chunk_id,
                                        shows_done=scored, shows_failed=unscored)
    metrics.add_metric(name="ChunksDone" if counted else "DuplicateChunks", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ShowsScored", unit=MetricUnit.Count, value=scored)
    logger.info("chunk crawled", extra={"chunk_id": message.chunk_id, "scored": scored,
                                        "unscored": unscored, "counted": counted})


def _has_score(scores: dict[str, Any] | None) -> bool:
    return bool(scores) and (scores.get("critics_score") is not None or scores.get("audience_score") is not None)


def _scores_for(ref: RtShowRef, deps: CrawlDeps) -> dict[str, Any] | None:
    cached = deps.cache.get(ref.tmdb_id)
    if cached and deps.cache.is_fresh(cached.rt_checked_at):
        return {"critics_score": cached.rt_critics_score, "audience_score": cached.rt_audience_score}
    try:
        found = deps.rotten_tomatoes().find_scores(ref.title, ref.first_air_year, ref.cast)
    except UpstreamError as error:
        metrics.add_metric(name="CrawlFailed", unit=MetricUnit.Count, value=1)
        logger.warning("crawl failed", extra={"tmdb_id": ref.tmdb_id, **upstream_fields(error)})  # no title
        return None  # not cached: a later session tries again
    scores = _as_dict(found)
    deps.cache.update_rotten_tomatoes(ref.tmdb_id, scores)
    if scores is None:
        metrics.add_metric(name="RtPageNotFound", unit=MetricUnit.Count, value=1)
    return scores


def _as_dict(found: Any) -> dict[str, Any] | None:
    if found is None:
        return None
    return asdict(found) if is_dataclass(found) else dict(found.model_dump())
