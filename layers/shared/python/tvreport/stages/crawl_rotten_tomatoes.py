"""crawlRottenTomatoes: critics and audience scores per show, cached with the show;
"no page" and "no score" are normal outcomes, counted as shows without a score.
Every crawl call has a deadline within the invocation's remaining time; a chunk short
of time, or past its time slice (tvreport.stages.part_gate), hands its remaining
shows on to its own queue (a part carrying the counts so far), and only the last part
counts the chunk (once, by chunk id)."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from tvreport import publisher
from tvreport.clients.errors import LOOKUP_ROUNDS, UpstreamError, upstream_fields
from tvreport.clients.http import DeadlineExceeded, deadline_within
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.clients.slots import yielding_budgets
from tvreport.messages import RtChunk, RtShowRef
from tvreport.observability import logger, metrics
from tvreport.records import CachedShow, RtScores
from tvreport.repositories.protocols import SessionStore, ShowCacheStore
from tvreport.session_model import Stage
from tvreport.stages.in_order import InOrder
from tvreport.stages.part_gate import TIME_SLICE_S, part_gate
from tvreport.waves import is_bulk

RT_PARALLELISM = 4  # shows of a chunk crawled at once


@dataclass
class CrawlDeps:
    sessions: SessionStore
    cache: ShowCacheStore
    rotten_tomatoes: Callable[[], RottenTomatoesClient]
    rt_queue_url: str = ""  # its own queue, for hand-off parts ("" = cannot hand off)
    parallelism: int = RT_PARALLELISM  # shows crawled at once (within the deployment's Rotten Tomatoes budget)
    time_slice_s: float = TIME_SLICE_S  # a part hands the rest on after this long


def handle(message: RtChunk, deps: CrawlDeps, remaining_ms: Callable[[], int] | None = None) -> None:
    """`remaining_ms` is the invocation's remaining time (Lambda's context)."""
    view = deps.sessions.crunching(message.session_id)
    if view is None:
        return
    bulk = is_bulk(view)  # a long history gives way to other sessions (tvreport.waves)
    with deadline_within(remaining_ms) if remaining_ms else contextlib.nullcontext(), yielding_budgets(bulk):
        _crawl(message, deps, remaining_ms or (lambda: 10**9), bulk)


def _crawl(message: RtChunk, deps: CrawlDeps, remaining_ms: Callable[[], int], bulk: bool = False) -> None:
    scored, unscored = message.carried_scored, message.carried_unscored
    cached = deps.cache.batch_get(ref.tmdb_id for ref in message.shows)  # one read for the chunk

    gate = part_gate(deps.sessions, message.session_id, remaining_ms, can_hand_off=bool(deps.rt_queue_url),
                     time_slice_s=deps.time_slice_s, bulk=bulk)
    shows = InOrder(message.shows, lambda ref: _has_score(_scores_for(ref, deps, cached.get(ref.tmdb_id))),
                    deps.parallelism, gate)
    for index, outcome in shows:
        try:
            has_score = outcome.result()
        except DeadlineExceeded:
            if not index or not deps.rt_queue_url:
                raise  # no progress in this part: the message fails and is retried
            _hand_off(message, index, scored, unscored, deps)
            return
        scored, unscored = (scored + 1, unscored) if has_score else (scored, unscored + 1)
    if shows.stop_reason == "cancelled":
        return
    if shows.stop_reason == "time" and shows.stopped_at is not None:  # set together with the reason
        _hand_off(message, shows.stopped_at, scored, unscored, deps)
        return
    unscored += message.not_on_tmdb
    counted = deps.sessions.count_chunk(message.session_id, Stage.CRAWL_ROTTEN_TOMATOES, message.chunk_id,
                                        shows_done=scored, shows_failed=unscored)
    metrics.add_metric(name="ChunksDone" if counted else "DuplicateChunks", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ShowsScored", unit=MetricUnit.Count, value=scored)
    logger.info("chunk crawled", extra={"chunk_id": message.chunk_id, "scored": scored,
                                        "unscored": unscored, "counted": counted})


def _hand_off(message: RtChunk, index: int, scored: int, unscored: int, deps: CrawlDeps) -> None:
    part = message.model_copy(update={"shows": message.shows[index:], "part": message.part + 1,
                                      "carried_scored": scored, "carried_unscored": unscored})
    publisher.send(deps.rt_queue_url, [part])
    metrics.add_metric(name="ChunkHandOffs", unit=MetricUnit.Count, value=1)
    logger.info("handing the rest of the chunk on", extra={"chunk_id": message.chunk_id, "part": part.part,
                                                           "left": len(part.shows)})


def _has_score(scores: RtScores | None) -> bool:
    return scores is not None and scores.has_score


def _scores_for(ref: RtShowRef, deps: CrawlDeps, cached: CachedShow | None) -> RtScores | None:
    """`cached` is the show as the chunk's batch read found it."""
    if cached and deps.cache.rt_fresh(cached):
        return _cached_scores(cached)
    for round_number in range(1, LOOKUP_ROUNDS + 1):
        try:
            found = deps.rotten_tomatoes().find_scores(ref.title, ref.first_air_year, ref.cast)
            break
        except DeadlineExceeded:
            raise
        except UpstreamError as error:
            if error.retryable and round_number < LOOKUP_ROUNDS:  # as queryShowData: one more round
                logger.info("crawl retried", extra={"tmdb_id": ref.tmdb_id, **upstream_fields(error)})
                continue
            # Not recorded: what the cache knows stays, and a later crawl tries again.
            metrics.add_metric(name="CrawlFailed", unit=MetricUnit.Count, value=1)
            logger.warning("crawl failed", extra={"tmdb_id": ref.tmdb_id, **upstream_fields(error)})  # no title
            return _cached_scores(cached) if cached else None
    deps.cache.update_rotten_tomatoes(ref.tmdb_id, found)
    if found is None:
        metrics.add_metric(name="RtPageNotFound", unit=MetricUnit.Count, value=1)
    if not _has_score(found) and cached:
        return _cached_scores(cached)  # a miss never erases a score found before
    return found


def _cached_scores(cached: CachedShow) -> RtScores:
    return RtScores(critics_score=cached.rt_critics_score, audience_score=cached.rt_audience_score)
