"""queryShowData and crawlRottenTomatoes on moto: what a failed or odd upstream
answer may and may not do to the shared show cache and to a session."""
from __future__ import annotations

from datetime import timedelta

import boto3
import httpx
import pytest

from tests.integration.conftest import REGION
from tests.support.queues import drain
from tests.support.stored import stored_session
from tests.unit.clients.support import real_text
from tvreport.clients.errors import LOOKUP_ROUNDS
from tvreport.clients.http import RetryPolicy, make_http_client
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.clients.tmdb import TmdbClient
from tvreport.messages import RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.observability import metrics
from tvreport.records import CachedShow, RtScores
from tvreport.repositories._dynamo import utc_now
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import State
from tvreport.stages import crawl_rotten_tomatoes, query_show_data
from tvreport.stages.crawl_rotten_tomatoes import CrawlDeps
from tvreport.stages.query_show_data import ShowDataDeps

NO_WAIT = RetryPolicy(attempts=3, backoff_base_s=0, backoff_max_s=0, sleep=lambda _: None)
THE_OFFICE_UK = (2996, "tt0290978")
THE_OFFICE_US = 2316
CHALLENGE_PAGE = ("<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
                  "<body><div id=\"challenge-running\">Checking your browser</div></body></html>")


@pytest.fixture
def stores(moto_tables):
    sqs = boto3.client("sqs", region_name=REGION)
    rt_queue = sqs.create_queue(QueueName="rt")["QueueUrl"]
    sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    return sessions, viewing, rt_queue, moto_tables


def start(sessions: SessionRepository, viewing: ViewingRepository, session_id: str, *keys: str) -> None:
    sessions.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    for key in keys:
        viewing.put_record(session_id, key, title=key, kind="show", plays={"2024-01-01|1|Pilot"})




# ---- hole 9: one session's IMDB id must not decide a bare title for everyone -----


def test_an_imdb_lookup_does_not_decide_what_a_bare_title_means(stores, sandbox):
    sessions, viewing, rt_queue, tables = stores
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    tmdb = TmdbClient(sandbox.tmdb_url, sandbox.tmdb_api_key, retry=NO_WAIT)
    deps = ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb)
    start(sessions, viewing, "a", "the office")
    start(sessions, viewing, "b", "the office")
    query_show_data.handle(ShowChunk(session_id="a", chunk_id=0, shows=[
        ShowRef(show_key="the office", title="The Office", imdb_id=THE_OFFICE_UK[1])]), deps)
    query_show_data.handle(ShowChunk(session_id="b", chunk_id=0, shows=[
        ShowRef(show_key="the office", title="The Office")]), deps)
    a, b = drain(rt_queue)
    assert a["shows"][0]["tmdb_id"] == THE_OFFICE_UK[0]  # A's id decided A's show
    assert b["shows"][0]["tmdb_id"] == THE_OFFICE_US  # B's bare title: the title lookup, not A's id
    # and a bare-title alias, once set, is what later bare titles use
    assert cache.get_alias("the office").tmdb_id == THE_OFFICE_US
    assert cache.get_alias(f"imdb#{THE_OFFICE_UK[1]}").tmdb_id == THE_OFFICE_UK[0]


# ---- issue 7 §3: a run of transient failures must not decide a show's outcome ----


def test_a_show_whose_lookup_fails_one_round_of_retries_is_looked_up_again(stores, sandbox):
    """Every attempt of the first round answers 503 (what a 10 % error rate does to
    1 show in 10,000): the show is still found, as on a clean run."""
    sessions, viewing, rt_queue, tables = stores
    failures = {"left": NO_WAIT.attempts}

    def answer(request: httpx.Request) -> httpx.Response:
        if failures["left"]:
            failures["left"] -= 1
            return httpx.Response(503, text="Service Unavailable")
        upstream = httpx.get(f"{sandbox.tmdb_url}{request.url.raw_path.decode()}", headers=request.headers)
        return httpx.Response(upstream.status_code, content=upstream.content, headers={"content-type": "application/json"})

    http = make_http_client("tmdb", "", 5.0, transport=httpx.MockTransport(answer))
    tmdb = TmdbClient("https://tmdb.test", sandbox.tmdb_api_key, http=http, retry=NO_WAIT)
    deps = ShowDataDeps(sessions, viewing, ShowCacheRepository(tables["show_cache"], max_age_days=30), rt_queue,
                        lambda: tmdb)
    start(sessions, viewing, "flaky", "dark")
    query_show_data.handle(ShowChunk(session_id="flaky", chunk_id=0, shows=[ShowRef(show_key="dark", title="Dark")]),
                           deps)
    (forwarded,) = drain(rt_queue)
    assert [show["title"] for show in forwarded["shows"]] == ["Dark"] and forwarded["not_on_tmdb"] == 0
    view = sessions.get("flaky")
    assert (view.show_data.shows_done, view.show_data.shows_failed) == (1, 0)


# ---- hole 17: a refused TMDB key fails the session, it does not "complete" empty --


def test_a_wrong_tmdb_key_fails_the_session_with_a_reason_and_a_metric(stores, sandbox):
    sessions, viewing, rt_queue, tables = stores
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    tmdb = TmdbClient(sandbox.tmdb_url, "placeholder-from-the-secret", retry=NO_WAIT)
    deps = ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb)
    start(sessions, viewing, "wrong-key", "the office", "dark")
    metrics.clear_metrics()
    before = sum(sandbox.stats()["tmdb"]["requests"].values())
    query_show_data.handle(ShowChunk(session_id="wrong-key", chunk_id=0, shows=[
        ShowRef(show_key="the office", title="The Office"), ShowRef(show_key="dark", title="Dark")]), deps)
    view = sessions.get("wrong-key")
    assert (view.state, view.failure_reason) == (State.FAILED, "UPSTREAM_AUTH_FAILED")
    detail = stored_session(sessions, "wrong-key")["failure_detail"]
    assert "tmdb" in detail and "401" in detail
    assert metrics.metric_set["UpstreamAuthFailed_tmdb"]["Value"] == [1.0]
    assert sum(sandbox.stats()["tmdb"]["requests"].values()) - before == 1  # no retries, no second show
    assert drain(rt_queue) == []  # nothing forwarded, nothing counted
    assert cache.get_alias("the office") is None  # a refusal is not "not on TMDB"
    metrics.clear_metrics()


def test_the_sandbox_refuses_a_wrong_key_as_tmdb_does(sandbox):
    reply = httpx.get(f"{sandbox.tmdb_url}/3/search/tv", params={"query": "Dark", "api_key": "wrong"})
    assert reply.status_code == 401
    assert reply.json()["status_code"] == 7 and reply.json()["status_message"].startswith("Invalid API key")


# ---- hole 7: an odd Rotten Tomatoes reply never erases what the cache knows ------


def _rt(pages: dict[str, str]) -> tuple[RottenTomatoesClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = pages.get(request.url.path)
        return httpx.Response(200, text=page) if page is not None else httpx.Response(404, text="Not found")

    http = make_http_client("rottentomatoes", "", 5.0, transport=httpx.MockTransport(answer))
    return RottenTomatoesClient("https://rt.test", http=http, retry=NO_WAIT), seen


def _cached_dune(cache: ShowCacheRepository) -> None:
    cache.put_show(CachedShow(tmdb_id=90228, name="Dune: Prophecy", first_air_year=2024))
    cache.update_rotten_tomatoes(90228, RtScores(url="https://rt.test/tv/dune_prophecy", critics_score=83,
                                                 audience_score=90, certified=True))


DUNE_REF = RtShowRef(show_key="dune prophecy", title="Dune: Prophecy", tmdb_id=90228, first_air_year=2024)


def test_a_challenge_page_keeps_the_cached_scores_and_is_asked_again(stores, monkeypatch):
    sessions, viewing, _, tables = stores
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=0)  # every crawl is a refresh
    _cached_dune(cache)
    stamp = cache.get(90228).rt_checked_at
    client, seen = _rt({"/search": CHALLENGE_PAGE})
    start(sessions, viewing, "user", "dune prophecy")
    crawl_rotten_tomatoes.handle(RtChunk(session_id="user", chunk_id=0, shows=[DUNE_REF]),
                                 CrawlDeps(sessions, cache, lambda: client))
    show = cache.get(90228)
    assert (show.rt_critics_score, show.rt_audience_score, show.rt_certified) == (83, 90, True)
    assert show.rt_checked_at == stamp and show.rt_outcome == "scored"  # the failed refresh left no mark
    assert len(seen) == LOOKUP_ROUNDS * NO_WAIT.attempts  # retried as a transient failure, two rounds
    view = sessions.get("user")
    assert (view.rotten_tomatoes.shows_done, view.rotten_tomatoes.shows_failed) == (1, 0)  # scored from the cache


def test_a_real_search_and_page_refresh_the_cache(stores):
    sessions, viewing, _, tables = stores
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=0)
    cache.put_show(CachedShow(tmdb_id=90228, name="Dune: Prophecy", first_air_year=2024))
    client, _ = _rt({"/search": real_text("rottentomatoes/yamtrack_search_dune_TRIMMED.html"),
                     "/tv/dune_prophecy": real_text("rottentomatoes/yamtrack_scorecard_snippet_TRIMMED.html")})
    start(sessions, viewing, "user", "dune prophecy")
    crawl_rotten_tomatoes.handle(RtChunk(session_id="user", chunk_id=0, shows=[DUNE_REF]),
                                 CrawlDeps(sessions, cache, lambda: client))
    show = cache.get(90228)
    assert (show.rt_critics_score, show.rt_audience_score, show.rt_outcome) == (83, 90, "scored")


def test_not_found_is_cached_for_less_time_than_a_hit(stores):
    _, _, _, tables = stores
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    _cached_dune(cache)
    cache.put_show(CachedShow(tmdb_id=1, name="Nowhere"))
    cache.update_rotten_tomatoes(1, None)
    hit, miss = cache.get(90228), cache.get(1)
    assert miss.rt_outcome == "not_found"
    for days, fresh in ((2, (True, True)), (4, (True, False)), (29, (True, False)), (31, (False, False))):
        later = utc_now() + timedelta(days=days)
        assert (cache.rt_fresh(hit, later), cache.rt_fresh(miss, later)) == fresh


def test_a_miss_after_a_hit_keeps_the_scores(stores):
    _, _, _, tables = stores
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    _cached_dune(cache)
    cache.update_rotten_tomatoes(90228, None)  # the series no longer matched
    show = cache.get(90228)
    assert (show.rt_critics_score, show.rt_audience_score, show.rt_outcome) == (83, 90, "not_found")


# ---- hole 11: a chunk out of time counts nothing and is retried, counted once ------


class Trickle(httpx.SyncByteStream):
    def __iter__(self):
        for _ in range(2_000):  # 20 s of body, one byte per 10 ms: under any read timeout
            import time
            time.sleep(0.01)
            yield b" "


def test_a_trickling_tmdb_cannot_hold_a_chunk_past_its_time_and_counts_stay_exact(stores, sandbox):
    from tvreport.clients.http import DeadlineExceeded

    sessions, viewing, rt_queue, tables = stores
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    trickling = TmdbClient("https://tmdb.test", "k", retry=NO_WAIT, http=make_http_client(
        "tmdb", "", 10.0, transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Trickle()))))
    healthy = TmdbClient(sandbox.tmdb_url, sandbox.tmdb_api_key, retry=NO_WAIT)
    start(sessions, viewing, "slow", "dark")
    chunk = ShowChunk(session_id="slow", chunk_id=0, shows=[ShowRef(show_key="dark", title="Dark")])
    with pytest.raises(DeadlineExceeded):  # the message fails; SQS redelivers it
        query_show_data.handle(chunk, ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: trickling),
                               remaining_ms=lambda: 1_000)
    assert "sd_chunks_done" not in stored_session(sessions, "slow") and drain(rt_queue) == []
    for _ in range(2):  # the redelivery, then a duplicate of it
        query_show_data.handle(chunk, ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: healthy),
                               remaining_ms=lambda: 300_000)
    sd = sessions.get("slow").show_data
    assert (sd.chunks_done, sd.shows_done, sd.shows_failed) == (1, 1, 0)


class Budget:
    """remaining_ms that runs low after `calls` readings (the invocation aging)."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def __call__(self) -> int:
        self.calls -= 1
        return 300_000 if self.calls >= 0 else 10_000


def test_a_chunk_short_of_time_hands_its_rest_on_and_is_counted_once(stores, sandbox):
    sessions, viewing, rt_queue, tables = stores
    own_queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="show-data")["QueueUrl"]
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    tmdb = TmdbClient(sandbox.tmdb_url, sandbox.tmdb_api_key, retry=NO_WAIT)
    deps = ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb, show_data_queue_url=own_queue)
    titles = {"dark": "Dark", "the office": "The Office", "no such show here": "No Such Show Here", "ozark": "Ozark"}
    start(sessions, viewing, "split", *titles)
    chunk = ShowChunk(session_id="split", chunk_id=3, shows=[ShowRef(show_key=k, title=t) for k, t in titles.items()])

    query_show_data.handle(chunk, deps, remaining_ms=Budget(calls=2))  # time for 2 shows, then low
    [part] = drain(own_queue)
    assert part["part"] == 1 and [s["show_key"] for s in part["shows"]] == ["no such show here", "ozark"]
    assert len(part["carried"]) == 2 and "sd_chunks_done" not in stored_session(sessions, "split")
    assert drain(rt_queue) == []  # nothing forwarded before the last part

    query_show_data.handle(ShowChunk.model_validate(part), deps, remaining_ms=lambda: 300_000)
    query_show_data.handle(chunk, deps, remaining_ms=lambda: 300_000)  # the first part redelivered: a second chain
    sd = sessions.get("split").show_data
    assert (sd.chunks_done, sd.shows_done, sd.shows_failed) == (1, 3, 1)
    forwarded = drain(rt_queue)
    assert len(forwarded) == 2  # one per chain; the RT ledger counts chunk 3 once
    assert all(sorted(s["show_key"] for s in f["shows"]) == ["dark", "ozark", "the office"] for f in forwarded)
    assert all(f["not_on_tmdb"] == 1 and f["chunk_id"] == 3 for f in forwarded)


def test_a_chunk_sliced_at_every_show_chains_one_show_per_part_to_the_counts_of_one_go(stores, sandbox):
    """A zero time slice: every part after the first show hands the rest on, so a chunk
    of n shows is n parts; what the last part forwards and counts is the whole chunk's."""
    sessions, viewing, rt_queue, tables = stores
    own_queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="show-data-sliced")["QueueUrl"]
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    tmdb = TmdbClient(sandbox.tmdb_url, sandbox.tmdb_api_key, retry=NO_WAIT)
    deps = ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb, show_data_queue_url=own_queue,
                        time_slice_s=0)
    titles = {"dark": "Dark", "the office": "The Office", "no such show here": "No Such Show Here", "ozark": "Ozark"}
    start(sessions, viewing, "sliced", *titles)
    message = ShowChunk(session_id="sliced", chunk_id=0, shows=[ShowRef(show_key=k, title=t) for k, t in titles.items()])
    parts = 0
    while True:
        query_show_data.handle(message, deps, remaining_ms=lambda: 300_000)
        parts += 1
        handed = drain(own_queue)
        if not handed:
            break
        [next_part] = handed
        message = ShowChunk.model_validate(next_part)
    assert parts == 4
    sd = sessions.get("sliced").show_data
    assert (sd.chunks_done, sd.shows_done, sd.shows_failed) == (1, 3, 1)
    [forwarded] = drain(rt_queue)
    assert sorted(s["show_key"] for s in forwarded["shows"]) == ["dark", "ozark", "the office"]
    assert forwarded["not_on_tmdb"] == 1


def test_a_crawl_short_of_time_hands_its_rest_on_and_is_counted_once(stores):
    sessions, viewing, _, tables = stores
    own_queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="rt-own")["QueueUrl"]
    cache = ShowCacheRepository(tables["show_cache"], max_age_days=30)
    _cached_dune(cache)  # fresh: scored from the cache
    cache.put_show(CachedShow(tmdb_id=1, name="Nowhere"))
    cache.update_rotten_tomatoes(1, None)  # fresh miss
    client, seen = _rt({})
    deps = CrawlDeps(sessions, cache, lambda: client, rt_queue_url=own_queue)
    start(sessions, viewing, "crawl-split", "dune prophecy", "nowhere")
    nowhere = RtShowRef(show_key="nowhere", title="Nowhere", tmdb_id=1)
    chunk = RtChunk(session_id="crawl-split", chunk_id=0, shows=[DUNE_REF, nowhere, DUNE_REF], not_on_tmdb=2)
    crawl_rotten_tomatoes.handle(chunk, deps, remaining_ms=Budget(calls=2))
    [part] = drain(own_queue)
    assert (part["part"], len(part["shows"]), part["carried_scored"], part["carried_unscored"]) == (1, 1, 1, 1)
    for message in (RtChunk.model_validate(part), chunk):
        crawl_rotten_tomatoes.handle(message, deps, remaining_ms=lambda: 300_000)
    rt = sessions.get("crawl-split").rotten_tomatoes
    assert (rt.chunks_done, rt.shows_done, rt.shows_failed) == (1, 2, 3)
    assert seen == []  # all from the cache


class _CountingCache(ShowCacheRepository):
    """The real repository, counting its index queries by IMDB id."""

    imdb_queries = 0

    def find_by_imdb(self, imdb_id):
        self.imdb_queries += 1
        return super().find_by_imdb(imdb_id)


def test_an_imdb_lookup_the_chunk_prefetch_answers_needs_no_index_query(stores):
    _, _, _, tables = stores
    cache = _CountingCache(tables["show_cache"], max_age_days=30)
    cache.put_show(CachedShow(tmdb_id=90228, name="Dune: Prophecy", imdb_id="tt10466872", first_air_year=2024))
    known_ref = ShowRef(show_key="dune prophecy", title="Dune: Prophecy", imdb_id="tt10466872")
    cache.put_alias(query_show_data.alias_key(known_ref), 90228)
    no_tmdb = ShowDataDeps(None, None, cache, "", lambda: pytest.fail("a cached show must not reach TMDB"))

    assert query_show_data.resolve(known_ref, no_tmdb).tmdb_id == 90228
    assert cache.imdb_queries == 0
    # A fresh "not on TMDB" alias for the id still loses to a show cached under it (one query).
    cache.put_alias(query_show_data.alias_key(known_ref), None)
    assert query_show_data.resolve(known_ref, no_tmdb).tmdb_id == 90228
    assert cache.imdb_queries == 1


def test_a_show_found_by_title_answers_a_later_lookup_by_its_imdb_id_from_the_prefetch(stores, sandbox):
    sessions, viewing, rt_queue, tables = stores
    cache = _CountingCache(tables["show_cache"], max_age_days=30)
    tmdb = TmdbClient(sandbox.tmdb_url, sandbox.tmdb_api_key, retry=NO_WAIT)
    start(sessions, viewing, "title", "the office")
    query_show_data.handle(ShowChunk(session_id="title", chunk_id=0, shows=[
        ShowRef(show_key="the office", title="The Office")]), ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb))
    office = cache.get(THE_OFFICE_US)
    assert office is not None and office.imdb_id  # TMDB's external ids name it
    assert cache.get_alias(query_show_data.imdb_alias_key(office.imdb_id)).tmdb_id == THE_OFFICE_US

    # A session that knows the IMDB id: no TMDB call, no index query
    start(sessions, viewing, "by-id", "the office")
    no_tmdb = ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: pytest.fail("a cached show must not reach TMDB"))
    query_show_data.handle(ShowChunk(session_id="by-id", chunk_id=0, shows=[
        ShowRef(show_key="the office", title="The Office", imdb_id=office.imdb_id)]), no_tmdb)
    assert [message["shows"][0]["tmdb_id"] for message in drain(rt_queue)] == [THE_OFFICE_US, THE_OFFICE_US]
    assert cache.imdb_queries == 0


def test_an_imdb_id_the_cache_has_never_seen_goes_to_tmdb_without_an_index_query(stores, sandbox):
    sessions, viewing, rt_queue, tables = stores
    cache = _CountingCache(tables["show_cache"], max_age_days=30)
    tmdb = TmdbClient(sandbox.tmdb_url, sandbox.tmdb_api_key, retry=NO_WAIT)
    ref = ShowRef(show_key="the office", title="The Office", imdb_id=THE_OFFICE_UK[1])
    assert query_show_data.resolve(ref, ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb)).tmdb_id \
        == THE_OFFICE_UK[0]
    assert cache.imdb_queries == 0
