"""queryShowData: show details and cast from TMDB through the shared cache, then the
chunk goes on to crawlRottenTomatoes and is counted done (exactly once)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from aws_lambda_powertools.metrics import MetricUnit

from tvreport import publisher
from tvreport.clients.errors import UpstreamError, upstream_fields
from tvreport.clients.tmdb import TmdbClient
from tvreport.messages import RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.observability import logger, metrics
from tvreport.records import CachedShow
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import Stage

CAST_FOR_MATCHING = 6


@dataclass
class ShowDataDeps:
    sessions: SessionRepository
    viewing: ViewingRepository
    cache: ShowCacheRepository
    rt_queue_url: str
    tmdb: Callable[[], TmdbClient]


def handle(message: ShowChunk, deps: ShowDataDeps) -> None:
    if deps.sessions.crunching(message.session_id) is None:
        return
    found: list[RtShowRef] = []
    for ref in message.shows:
        show = _resolve_or_none(ref, deps)
        if show is None:
            continue
        deps.viewing.set_tmdb_id(message.session_id, ref.show_key, show.tmdb_id)
        found.append(RtShowRef(show_key=ref.show_key, title=show.name, tmdb_id=show.tmdb_id,
                               first_air_year=show.first_air_year,
                               cast=[c.name for c in show.cast[:CAST_FOR_MATCHING]]))
    missing = len(message.shows) - len(found)
    # Forward before counting: if counting is a duplicate, the forward was too, and the
    # next stage's ledger absorbs it.
    publisher.send(deps.rt_queue_url, [RtChunk(session_id=message.session_id, chunk_id=message.chunk_id,
                                               shows=found, not_on_tmdb=missing)])
    counted = deps.sessions.count_chunk(message.session_id, Stage.QUERY_SHOW_DATA, message.chunk_id,
                                        shows_done=len(found), shows_failed=missing)
    metrics.add_metric(name="ChunksDone" if counted else "DuplicateChunks", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ShowsEnriched", unit=MetricUnit.Count, value=len(found))
    metrics.add_metric(name="ShowsNotFound", unit=MetricUnit.Count, value=missing)
    logger.info("chunk enriched", extra={"chunk_id": message.chunk_id, "found": len(found),
                                         "missing": missing, "counted": counted})


def _resolve_or_none(ref: ShowRef, deps: ShowDataDeps) -> CachedShow | None:
    """A per-show upstream failure is recorded and the chunk goes on."""
    try:
        return resolve(ref, deps)
    except UpstreamError as error:
        metrics.add_metric(name="ShowLookupFailed", unit=MetricUnit.Count, value=1)
        logger.warning("show lookup failed", extra={"imdb_id": ref.imdb_id, **upstream_fields(error)})  # no title
        return None


def resolve(ref: ShowRef, deps: ShowDataDeps) -> CachedShow | None:
    """Cache first (by IMDB id, then by the title seen before), TMDB otherwise."""
    cache = deps.cache
    if ref.imdb_id:
        cached = cache.find_by_imdb(ref.imdb_id)
        if cached and cache.is_fresh(cached.fetched_at):
            return cached
    alias = cache.get_alias(ref.show_key)
    if alias and alias["fresh"]:
        if alias["tmdb_id"] is None:
            return None  # looked up recently and not on TMDB
        cached = cache.get(alias["tmdb_id"])
        if cached and cache.is_fresh(cached.fetched_at):
            return cached
    show = deps.tmdb().lookup(ref.title, imdb_id=ref.imdb_id)
    if show is not None:
        cache.put_show(show)
    cache.put_alias(ref.show_key, show.tmdb_id if show else None)
    return show
