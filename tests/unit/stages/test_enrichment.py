"""queryShowData's lookup and crawlRottenTomatoes over the fakes, with the real
clients on httpx.MockTransport: the shared cache spares upstream calls, a chunk is
counted once, an upstream failure counts a show unscored (and records nothing), a
refused TMDB credential fails the session, a session that ends mid-chunk stops it."""
from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.unit.stages.conftest import World
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.clients.tmdb import TmdbClient
from tvreport.messages import RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.records import ShowAlias
from tvreport.session_model import State
from tvreport.stages import crawl_rotten_tomatoes, query_show_data

Handler = Callable[[httpx.Request], httpx.Response]


class Upstream:
    """An HTTP service on MockTransport; keeps the requests."""

    def __init__(self, answer: Handler):
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def http(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def crawl_deps(world: World, rt: Upstream) -> crawl_rotten_tomatoes.CrawlDeps:
    return crawl_rotten_tomatoes.CrawlDeps(world.sessions, world.cache,
                                           lambda: RottenTomatoesClient("https://rt.test", http=rt.http))


def show_data_deps(world: World, tmdb: Upstream) -> query_show_data.ShowDataDeps:
    return query_show_data.ShowDataDeps(world.sessions, world.viewing, world.cache, "https://sqs.test/rt",
                                        lambda: TmdbClient("https://tmdb.test", "0" * 32, http=tmdb.http))


def refused(_: httpx.Request) -> httpx.Response:
    return httpx.Response(403)


def rt_chunk(session_id: str, *tmdb_ids: int, not_on_tmdb: int = 0) -> RtChunk:
    return RtChunk(session_id=session_id, chunk_id=0, not_on_tmdb=not_on_tmdb,
                   shows=[RtShowRef(show_key=f"show {i}", title=f"Show {i}", tmdb_id=i) for i in tmdb_ids])


# ---- crawlRottenTomatoes ------------------------------------------------------------

def test_fresh_cached_scores_are_counted_without_a_crawl_and_once(world: World) -> None:
    session_id = world.crunching(total_shows=3)
    world.cached(1, "Show 1", ["Drama"], critics=90)
    rt = Upstream(refused)
    message = rt_chunk(session_id, 1, not_on_tmdb=2)

    crawl_rotten_tomatoes.handle(message, crawl_deps(world, rt))
    counted = world.sessions.get(session_id).rotten_tomatoes
    crawl_rotten_tomatoes.handle(message, crawl_deps(world, rt))  # the redelivery

    assert (counted.chunks_done, counted.shows_done, counted.shows_failed) == (1, 1, 2)
    assert world.sessions.get(session_id).rotten_tomatoes == counted
    assert rt.requests == []


def test_a_failed_crawl_counts_the_show_unscored_and_records_nothing(world: World) -> None:
    session_id = world.crunching(total_shows=1)
    world.cached(1, "Show 1", ["Drama"])  # never crawled
    rt = Upstream(refused)
    crawl_rotten_tomatoes.handle(rt_chunk(session_id, 1), crawl_deps(world, rt))
    counters = world.sessions.get(session_id).rotten_tomatoes
    assert (counters.chunks_done, counters.shows_done, counters.shows_failed) == (1, 0, 1)
    assert len(rt.requests) == 1 and world.cache.get(1).rt_checked_at is None


def test_a_session_cancelled_mid_chunk_stops_the_crawl_and_counts_nothing(world: World) -> None:
    session_id = world.crunching(total_shows=2)
    world.cached(1, "Show 1", ["Drama"])
    world.cached(2, "Show 2", ["Drama"])

    def cancel_then_refuse(request: httpx.Request) -> httpx.Response:
        world.sessions.cancel(session_id)
        return httpx.Response(403)

    rt = Upstream(cancel_then_refuse)
    crawl_rotten_tomatoes.handle(rt_chunk(session_id, 1, 2), crawl_deps(world, rt))
    assert len(rt.requests) == 1 and world.sessions.ledger(session_id) == []
    assert world.item()["failure_reason"] == "CANCELLED"


def test_a_chunk_for_a_gone_session_is_dropped_before_any_crawl(world: World) -> None:
    rt = Upstream(refused)
    crawl_rotten_tomatoes.handle(rt_chunk("gone", 1), crawl_deps(world, rt))
    assert rt.requests == [] and world.sessions.stored == {}


# ---- queryShowData ------------------------------------------------------------------

def test_a_fresh_cached_show_by_imdb_id_needs_no_tmdb_call(world: World) -> None:
    dark = world.cached(70523, "Dark", ["Drama"], imdb_id="tt5753856")
    world.cache.put_alias(query_show_data.imdb_alias_key("tt5753856"), 70523)  # cached beside the show
    tmdb = Upstream(refused)
    ref = ShowRef(show_key="dark", title="Dark", imdb_id="tt5753856")
    assert query_show_data.resolve(ref, show_data_deps(world, tmdb)) == dark
    assert tmdb.requests == []


def test_a_fresh_alias_answers_for_the_title_even_when_it_was_not_found(world: World) -> None:
    world.cached(70523, "Dark", ["Drama"])
    world.cache.put_alias("dark", 70523)
    world.cache.put_alias("unknown show", None)
    tmdb = Upstream(refused)
    deps = show_data_deps(world, tmdb)
    assert query_show_data.resolve(ShowRef(show_key="dark", title="Dark"), deps).tmdb_id == 70523
    assert query_show_data.resolve(ShowRef(show_key="unknown show", title="Unknown Show"), deps) is None
    assert tmdb.requests == []


def test_a_title_tmdb_does_not_know_is_remembered_as_not_found(world: World) -> None:
    tmdb = Upstream(lambda _: httpx.Response(200, json={"page": 1, "results": [], "total_pages": 0,
                                                        "total_results": 0}))
    ref = ShowRef(show_key="nothing like it", title="Nothing Like It")
    assert query_show_data.resolve(ref, show_data_deps(world, tmdb)) is None
    assert world.cache.get_alias("nothing like it") == ShowAlias(tmdb_id=None, fresh=True)
    assert [r.url.path for r in tmdb.requests] == ["/3/search/tv"]
    # An IMDB-id lookup speaks only for that id, never for the bare title.
    assert query_show_data.alias_key(ShowRef(show_key="x", title="X", imdb_id="tt1")) == "imdb#tt1"


def test_a_refused_tmdb_credential_fails_the_session_and_counts_nothing(world: World) -> None:
    session_id = world.crunching(total_shows=2)
    tmdb = Upstream(lambda _: httpx.Response(401, json={"status_code": 7}))
    chunk = ShowChunk(session_id=session_id, chunk_id=0, shows=[ShowRef(show_key="a", title="A"),
                                                                ShowRef(show_key="b", title="B")])
    query_show_data.handle(chunk, show_data_deps(world, tmdb))
    assert world.item()["state"] == State.FAILED.value
    assert world.item()["failure_reason"] == "UPSTREAM_AUTH_FAILED"
    assert world.sessions.ledger(session_id) == [] and len(tmdb.requests) == 1


def test_a_chunk_for_a_gone_session_makes_no_lookup(world: World) -> None:
    tmdb = Upstream(refused)
    chunk = ShowChunk(session_id="gone", chunk_id=0, shows=[ShowRef(show_key="a", title="A")])
    query_show_data.handle(chunk, show_data_deps(world, tmdb))
    assert tmdb.requests == [] and world.cache.stored == {}
