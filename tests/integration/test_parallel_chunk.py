"""A chunk's shows looked up several at a time: the same forwarded chunk and counts as
one at a time, in the chunk's order whatever finishes first, within the process's
share of the service's budget; and the chunk's cache reads and alias writes in
batches, with what DynamoDB leaves unprocessed sent again."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter

import boto3
import httpx
import pytest

from local.sandbox.catalogue import CATALOGUE_PATH
from tests.integration.conftest import REGION
from tests.support.aws_edge import Edge, all_unprocessed
from tests.support.queues import drain
from tests.support.stored import stored_session
from tvreport import env_keys
from tvreport.clients import slots
from tvreport.clients.http import RetryPolicy, make_http_client
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.clients.tmdb import TmdbClient
from tvreport.messages import RtChunk, ShowChunk, ShowRef
from tvreport.records import CachedShow, ShowAlias
from tvreport.repositories import show_cache as show_cache_module
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository, UnprocessedBatchError
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import State
from tvreport.stages import crawl_rotten_tomatoes, query_show_data
from tvreport.stages.crawl_rotten_tomatoes import CrawlDeps
from tvreport.stages.query_show_data import ShowDataDeps

NO_WAIT = RetryPolicy(attempts=3, backoff_base_s=0, backoff_max_s=0, sleep=lambda _: None)
TITLES = [show["title"] for show in json.loads(CATALOGUE_PATH.read_text())["shows"][:16]]
UNKNOWN = ["No Such Show Anywhere", "Another Invented Title"]


class EdgeTransport(httpx.BaseTransport):
    """The process edge: real HTTP to the sandbox, each request's arrival time noted,
    and the chunk's first searches held back so later shows finish first."""

    def __init__(self, slow_titles: set[str] = frozenset(), delay_s: float = 0.0) -> None:
        self._real = httpx.HTTPTransport()
        self._slow, self._delay = {t.lower() for t in slow_titles}, delay_s
        self.arrivals: list[float] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.arrivals.append(time.monotonic())
        if request.url.params.get("query", "").lower() in self._slow:
            time.sleep(self._delay)
        return self._real.handle_request(request)


@pytest.fixture
def stores(moto_tables):
    sqs = boto3.client("sqs", region_name=REGION)
    rt_queue = sqs.create_queue(QueueName="rt")["QueueUrl"]
    sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    cache = ShowCacheRepository(moto_tables["show_cache"], max_age_days=30)
    return sessions, viewing, cache, rt_queue


def start(sessions, viewing, session_id: str, titles: list[str]) -> ShowChunk:
    sessions.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    for title in titles:
        viewing.put_record(session_id, title.lower(), title=title, kind="show", plays={"2024-01-01|1|Pilot"})
    return ShowChunk(session_id=session_id, chunk_id=0,
                     shows=[ShowRef(show_key=t.lower(), title=t) for t in titles])


def empty_cache(table_name: str) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(table_name)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"show_id": item["show_id"]})


def tmdb_client(sandbox, transport: httpx.BaseTransport) -> TmdbClient:
    return TmdbClient(sandbox.tmdb_url, sandbox.tmdb_api_key, retry=NO_WAIT,
                      http=make_http_client("tmdb", "", 10, transport=transport))


def forwarded(rt_queue: str) -> dict:
    (body,) = drain(rt_queue)
    body.pop("session_id")
    return body


def test_a_parallel_chunk_forwards_and_counts_what_a_sequential_one_does(stores, sandbox, moto_tables):
    sessions, viewing, cache, rt_queue = stores
    titles = TITLES[:6] + UNKNOWN[:1] + TITLES[6:12] + UNKNOWN[1:]
    # the first three shows answer last, so completion order is not the chunk's order
    parallel_edge = EdgeTransport(slow_titles=set(titles[:3]), delay_s=0.4)
    tmdb = tmdb_client(sandbox, parallel_edge)
    query_show_data.handle(start(sessions, viewing, "par", titles),
                           ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb, parallelism=6))
    parallel = forwarded(rt_queue)

    empty_cache(moto_tables["show_cache"])  # the sequential run starts as cold
    sequential_edge = EdgeTransport()
    tmdb_seq = tmdb_client(sandbox, sequential_edge)
    query_show_data.handle(start(sessions, viewing, "seq", titles),
                           ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb_seq, parallelism=1))
    assert parallel == forwarded(rt_queue)
    assert [s["show_key"] for s in parallel["shows"]] == [t.lower() for t in titles if t not in UNKNOWN]
    assert parallel["not_on_tmdb"] == 2
    assert len(parallel_edge.arrivals) == len(sequential_edge.arrivals)  # the same lookups, no more
    for session_id in ("par", "seq"):
        sd = sessions.get(session_id).show_data
        assert (sd.chunks_done, sd.shows_done, sd.shows_failed) == (1, 12, 2)
    # and the aliases the chunk learnt were written (in batches): a rerun asks TMDB nothing
    warm_edge = EdgeTransport()
    tmdb_warm = tmdb_client(sandbox, warm_edge)
    query_show_data.handle(start(sessions, viewing, "warm", titles),
                           ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb_warm, parallelism=6))
    assert forwarded(rt_queue) == parallel and warm_edge.arrivals == []


def test_every_thread_spends_the_deployment_budget(stores, sandbox, monkeypatch):
    sessions, viewing, cache, rt_queue = stores
    monkeypatch.setenv(env_keys.UPSTREAM_RATE_LIMITS, json.dumps({"tmdb": 8}))
    slots.slot_scheduler.cache_clear()
    try:
        edge = EdgeTransport()
        tmdb = tmdb_client(sandbox, edge)
        query_show_data.handle(start(sessions, viewing, "budget", TITLES[:12]),
                               ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb, parallelism=8))
        scheduler = slots.slot_scheduler("tmdb")
    finally:
        slots.slot_scheduler.cache_clear()
    assert len(drain(rt_queue)) == 1
    assert len(edge.arrivals) >= 24  # enough requests for a burst to show
    # no one-second window holds more than the budget (8 threads, 8 a second)
    most = max(sum(1 for t in edge.arrivals if start_at <= t < start_at + 1.0) for start_at in edge.arrivals)
    assert most <= 8
    # every request had its slot (how many writes they shared depends on load: a bench figure)
    assert scheduler.used == len(edge.arrivals)


def test_a_cancel_stops_new_shows_and_counts_nothing(stores, sandbox):
    sessions, viewing, cache, rt_queue = stores
    chunk = start(sessions, viewing, "cancel", TITLES[:12])
    edge = EdgeTransport()
    tmdb = tmdb_client(sandbox, edge)
    checks = Counter()
    real_crunching = sessions.crunching

    def crunching(session_id):
        checks["n"] += 1
        if checks["n"] == 3:  # cancelled while the chunk runs
            sessions.fail(session_id, "CANCELLED", "cancelled by the user")
        return real_crunching(session_id)

    sessions.crunching = crunching  # type: ignore[method-assign]
    query_show_data.handle(chunk, ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb, parallelism=4))
    assert drain(rt_queue) == []
    assert "sd_chunks_done" not in stored_session(sessions, "cancel")
    # the check before the third submission saw the cancel: two shows ran, the rest never
    assert checks["n"] == 3 and 0 < len(edge.arrivals) < len(TITLES[:12])


def test_a_parallel_crawl_counts_like_a_sequential_one(stores, sandbox):
    sessions, viewing, cache, rt_queue = stores
    titles = TITLES[:10]
    tmdb = tmdb_client(sandbox, EdgeTransport())
    query_show_data.handle(start(sessions, viewing, "crawl", titles),
                           ShowDataDeps(sessions, viewing, cache, rt_queue, lambda: tmdb, parallelism=4))
    chunk = RtChunk.model_validate({**forwarded(rt_queue), "session_id": "crawl"})
    rt = RottenTomatoesClient(sandbox.rotten_tomatoes_url, retry=NO_WAIT)
    crawl_rotten_tomatoes.handle(chunk, CrawlDeps(sessions, cache, lambda: rt, parallelism=4))
    rt = sessions.get("crawl").rotten_tomatoes
    expected_scored = sum(1 for s in json.loads(CATALOGUE_PATH.read_text())["shows"][:10]
                          if (s.get("rotten_tomatoes") or {}).get("critics_score") is not None
                          or (s.get("rotten_tomatoes") or {}).get("audience_score") is not None)
    assert (rt.chunks_done, rt.shows_done, rt.shows_failed) == (
        1, expected_scored, 10 - expected_scored)
    cached = cache.batch_get(ref.tmdb_id for ref in chunk.shows)
    assert all(show.rt_checked_at for show in cached.values()) and len(cached) == 10


def _cached(tmdb_id: int) -> CachedShow:
    return CachedShow(tmdb_id=tmdb_id, name=f"Show {tmdb_id}", cast=[])


def test_batch_reads_send_unprocessed_keys_again(stores):
    _, _, cache, _ = stores
    for tmdb_id in (1, 2, 3):
        cache.put_show(_cached(tmdb_id))
    cache.put_aliases([("show one", 1), ("nowhere", None)])
    edge = Edge(cache._table.meta.client)

    def half_unprocessed(request):  # DynamoDB answers one key and leaves the rest
        (name, keys), = request["RequestItems"].items()
        return {"status": 200, "body": {"Responses": {name: []},
                                        "UnprocessedKeys": {name: {"Keys": keys["Keys"][1:]}}}}

    edge.answer("BatchGetItem", half_unprocessed)
    assert sorted(cache.batch_get([1, 2, 3, 4])) == [2, 3]  # the first key was "answered" empty by the fault
    assert edge.calls["BatchGetItem"] == 2
    edge.answer("BatchGetItem", lambda r: {"status": 200, "body": {"Responses": {},
                                                                    "UnprocessedKeys": r["RequestItems"]}})
    aliases = cache.batch_get_aliases(["show one", "nowhere", "never seen"])
    assert aliases == {"show one": ShowAlias(tmdb_id=1, fresh=True), "nowhere": ShowAlias(tmdb_id=None, fresh=True)}


def test_batches_left_unprocessed_through_every_retry_fail_loudly(stores, monkeypatch):
    _, _, cache, _ = stores
    monkeypatch.setattr(show_cache_module, "BATCH_BACKOFF_BASE_S", 0.001)
    edge = Edge(cache._table.meta.client)
    edge.answer("BatchWriteItem", *[all_unprocessed] * show_cache_module.BATCH_ATTEMPTS)
    with pytest.raises(UnprocessedBatchError, match="BatchWriteItem"):
        cache.put_aliases([("a", 1)])
    edge.answer("BatchWriteItem", all_unprocessed)  # one throttled answer, then written
    cache.put_aliases([("a", 1), ("b", None)])
    assert cache.get_alias("a") == ShowAlias(tmdb_id=1, fresh=True)
    assert edge.calls["BatchWriteItem"] == show_cache_module.BATCH_ATTEMPTS + 2
