"""queryShowData: show details and cast from TMDB through the shared cache, then the
chunk goes on to crawlRottenTomatoes and is counted done (exactly once).

No invocation needs more than its timeout: every TMDB call has a deadline within the
remaining time, and a chunk short of time, or past its time slice
(tvreport.stages.part_gate), hands its remaining shows on to its own queue (a part
carrying what was found); only the last part forwards and counts."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from tvreport import publisher
from tvreport.clients.errors import LOOKUP_ROUNDS, UpstreamAuthError, UpstreamError, upstream_fields
from tvreport.clients.http import DeadlineExceeded, deadline_within
from tvreport.clients.slots import yielding_budgets
from tvreport.clients.tmdb import TmdbClient
from tvreport.messages import RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.observability import count_auth_failure, logger, metrics
from tvreport.records import CachedShow, ShowAlias
from tvreport.repositories.protocols import SessionStore, ShowCacheStore, ViewingStore
from tvreport.session_model import Stage
from tvreport.stages.in_order import InOrder
from tvreport.stages.part_gate import TIME_SLICE_S, part_gate
from tvreport.waves import is_bulk

CAST_FOR_MATCHING = 6
# Shows in flight per chunk: enough to keep TMDB's budget busy at ~100 ms a call; the
# deployment's slot bucket (tvreport.clients.slots), not this, bounds the request rate.
SHOW_PARALLELISM = 8


@dataclass
class ShowDataDeps:
    sessions: SessionStore
    viewing: ViewingStore
    cache: ShowCacheStore
    rt_queue_url: str
    tmdb: Callable[[], TmdbClient]
    show_data_queue_url: str = ""  # its own queue, for hand-off parts ("" = cannot hand off)
    parallelism: int = SHOW_PARALLELISM  # shows looked up at once (all within the deployment's TMDB budget)
    time_slice_s: float = TIME_SLICE_S  # a part hands the rest on after this long


def handle(message: ShowChunk, deps: ShowDataDeps, remaining_ms: Callable[[], int] | None = None) -> None:
    """`remaining_ms` is the invocation's remaining time (Lambda's context)."""
    view = deps.sessions.crunching(message.session_id)
    if view is None:
        return
    bulk = is_bulk(view)  # a long history gives way to other sessions (tvreport.waves)
    with deadline_within(remaining_ms) if remaining_ms else contextlib.nullcontext(), yielding_budgets(bulk):
        _enrich(message, deps, remaining_ms or (lambda: 10**9), bulk)


def _enrich(message: ShowChunk, deps: ShowDataDeps, remaining_ms: Callable[[], int], bulk: bool = False) -> None:
    found: list[RtShowRef] = list(message.carried)
    missing = message.carried_missing
    known = prefetch(message.shows, deps.cache)
    aliases: list[tuple[str, int | None]] = []  # what this part learnt, written in batches

    def work(ref: ShowRef) -> CachedShow | None:
        show = _resolve_or_none(ref, deps, known, aliases)
        if show is not None:
            deps.viewing.set_tmdb_id(message.session_id, ref.show_key, show.tmdb_id)
        return show

    gate = part_gate(deps.sessions, message.session_id, remaining_ms, can_hand_off=bool(deps.show_data_queue_url),
                     time_slice_s=deps.time_slice_s, bulk=bulk)
    shows = InOrder(message.shows, work, deps.parallelism, gate)
    try:
        for index, outcome in shows:
            try:
                show = outcome.result()
            except UpstreamAuthError as error:
                fail_on_auth(deps.sessions, message.session_id, error)
                return
            except DeadlineExceeded:
                if not index or not deps.show_data_queue_url:
                    raise  # no progress in this part: the message fails and is retried
                _hand_off(message, message.shows[index:], found, missing, deps)
                return
            if show is None:
                missing += 1
                continue
            found.append(RtShowRef(show_key=message.shows[index].show_key, title=show.name, tmdb_id=show.tmdb_id,
                                   first_air_year=show.first_air_year,
                                   cast=[c.name for c in show.cast[:CAST_FOR_MATCHING]]))
    finally:
        deps.cache.put_aliases(aliases)
    if shows.stop_reason == "cancelled":
        return
    if shows.stop_reason == "time":
        _hand_off(message, message.shows[shows.stopped_at:], found, missing, deps)
        return
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


def _hand_off(message: ShowChunk, rest: list[ShowRef], found: list[RtShowRef], missing: int,
              deps: ShowDataDeps) -> None:
    """The rest of the chunk as its next part; nothing is counted until the last part
    (a duplicate chain ends in the same chunk id, which the ledger counts once)."""
    part = message.model_copy(update={"shows": rest, "part": message.part + 1, "carried": found,
                                      "carried_missing": missing})
    publisher.send(deps.show_data_queue_url, [part])
    metrics.add_metric(name="ChunkHandOffs", unit=MetricUnit.Count, value=1)
    logger.info("handing the rest of the chunk on", extra={"chunk_id": message.chunk_id, "part": part.part,
                                                           "left": len(rest)})


def fail_on_auth(sessions: SessionStore, session_id: str, error: UpstreamAuthError) -> None:
    """A refused credential fails the session (every show would come back "not
    found" and the report would be empty): a reason, a metric, an error log."""
    count_auth_failure(error.service)
    logger.error("upstream refused our credential", extra={"upstream": error.service, "status": error.status})
    sessions.fail(session_id, "UPSTREAM_AUTH_FAILED", f"{error.service} refused the credential (HTTP {error.status})")


def _resolve_or_none(ref: ShowRef, deps: ShowDataDeps, known: Prefetched,
                     aliases: list[tuple[str, int | None]]) -> CachedShow | None:
    """A per-show upstream failure is recorded and the chunk goes on; a transient one
    first gets another round of the client's retries (within the deadline)."""
    for round_number in range(1, LOOKUP_ROUNDS + 1):
        try:
            return resolve(ref, deps, known, aliases)
        except (UpstreamAuthError, DeadlineExceeded):
            raise
        except UpstreamError as error:
            if error.retryable and round_number < LOOKUP_ROUNDS:
                logger.info("show lookup retried", extra={"imdb_id": ref.imdb_id, **upstream_fields(error)})
                continue
            metrics.add_metric(name="ShowLookupFailed", unit=MetricUnit.Count, value=1)
            logger.warning("show lookup failed", extra={"imdb_id": ref.imdb_id, **upstream_fields(error)})  # no title
            return None
    raise AssertionError("unreachable")


def imdb_alias_key(imdb_id: str) -> str:
    return f"imdb#{imdb_id}"


def alias_key(ref: ShowRef) -> str:
    """The alias a lookup is remembered under. A title-only lookup speaks for the
    title, for everyone; a lookup by IMDB id speaks only for that id, so one
    session's id never decides what a bare title means for other sessions."""
    return imdb_alias_key(ref.imdb_id) if ref.imdb_id else ref.show_key


@dataclass
class Prefetched:
    """The chunk's alias items and the shows they name, read in batches up front."""
    aliases: dict[str, ShowAlias]
    shows: dict[int, CachedShow]


def prefetch(refs: list[ShowRef], cache: ShowCacheStore) -> Prefetched:
    aliases = cache.batch_get_aliases(alias_key(ref) for ref in refs)
    named = {a.tmdb_id for a in aliases.values() if a.fresh and a.tmdb_id is not None}
    return Prefetched(aliases, cache.batch_get(named))


def resolve(ref: ShowRef, deps: ShowDataDeps, known: Prefetched | None = None,
            aliases: list[tuple[str, int | None]] | None = None) -> CachedShow | None:
    """Cache first, TMDB otherwise. The cache is asked in this order: the alias of this
    lookup naming a fresh show (in the chunk's prefetch: no round trip); for a fresh
    "not on TMDB" alias, the show cached under this IMDB id (one index query: a show
    cached before its `imdb#` alias was written wins over the miss), else None.
    Without an alias, TMDB: every show cached with an IMDB id gets its `imdb#` alias
    beside it, so a lookup by id needs no index query to find what the cache holds.
    `known` is the chunk's prefetched cache (else read here); a new alias goes to
    `aliases` for a batch write (else it is written here, after the show it names)."""
    cache = deps.cache
    known = known or prefetch([ref], cache)
    alias = known.aliases.get(alias_key(ref))
    if alias and alias.fresh and alias.tmdb_id is not None:
        cached = known.shows.get(alias.tmdb_id)
        if cached and cache.is_fresh(cached.fetched_at):
            return cached
    if alias and alias.fresh and alias.tmdb_id is None:
        cached = cache.find_by_imdb(ref.imdb_id) if ref.imdb_id else None
        return cached if cached and cache.is_fresh(cached.fetched_at) else None  # looked up recently: not on TMDB
    show = deps.tmdb().lookup(ref.title, imdb_id=ref.imdb_id)
    if show is not None:
        cache.put_show(show)
    key = alias_key(ref)
    learnt = [(key, show.tmdb_id if show else None)]
    if show is not None and show.imdb_id and imdb_alias_key(show.imdb_id) != key:
        learnt.append((imdb_alias_key(show.imdb_id), show.tmdb_id))  # TMDB's own id for it: true for everyone
    if aliases is None:
        for key, tmdb_id in learnt:
            cache.put_alias(key, tmdb_id)
    else:
        aliases.extend(learnt)  # list.extend of a list is atomic across the chunk's threads
    return show
