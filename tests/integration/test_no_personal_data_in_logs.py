"""Issue 7 hole 8: logs and traces outlive DELETE /sessions, so no show title (or
anything else a viewer watched) may reach them. Representative stage code runs
against moto and failing upstreams with every log line captured; none may carry a
title from the viewer's history, and a failed batch's error names types only."""
from __future__ import annotations

import io
import json
import logging

import boto3
import httpx
import pytest

from tests.integration.conftest import REGION
from tests.support.handlers import FakeContext
from tests.unit.clients.support import ScriptedTransport
from tvreport import env_keys
from tvreport.batch_handler import BatchFailed, batch_handler, parse_message
from tvreport.clients import slots
from tvreport.clients.http import RetryPolicy
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.clients.tmdb import TmdbClient
from tvreport.messages import ActivitiesRequest, RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.observability import logger
from tvreport.records import CachedShow
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import State
from tvreport.stages import crawl_rotten_tomatoes, query_activities, query_show_data
from tvreport.upstream_budgets import DEPLOYMENT_BUDGETS

# Titles no log line contains by chance (checked as lower-case substrings).
TITLES = ("Zyxwob Chronicles", "Quillfeather Manor", "Brixton Vortigern")
SLUGS = ("zyxwob_chronicles", "quillfeather_manor", "brixton_vortigern")
NO_WAIT = RetryPolicy(attempts=2, backoff_base_s=0, backoff_max_s=0, retry_after_cap_s=0, sleep=lambda _: None)


@pytest.fixture(autouse=True)
def no_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_keys.UPSTREAM_RATE_LIMITS, json.dumps(dict.fromkeys(DEPLOYMENT_BUDGETS)))
    slots.slot_scheduler.cache_clear()


@pytest.fixture
def logged():
    """Everything the layer's logger writes, debug lines included, as the JSON lines
    Lambda would keep (with every `extra` key). botocore's debug log is not ours."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    yield lambda: stream.getvalue().lower()
    logger.removeHandler(handler)
    logger.setLevel(level)


def assert_no_title(text: str) -> None:
    assert text.strip(), "something was logged"
    for name in (*TITLES, *SLUGS):
        assert name.lower() not in text, name


def crunching_session(tables: dict[str, str]) -> tuple[SessionRepository, str]:
    repo = SessionRepository(tables["sessions"], ttl_days=1)
    session_id, _ = repo.create("f3a1c0de-0000-4000-8000-000000000001", source="netflix_csv",
                                state=State.CRUNCHING_DATA, threshold_percent=97)
    return repo, session_id


def test_query_activities_logs_counts_not_titles(moto_tables, logged) -> None:
    repo, session_id = crunching_session(moto_tables)
    sqs = boto3.client("sqs", region_name=REGION)
    activities_queue, shows_queue = (sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("qa", "qsd"))
    rows = "".join(f'"{title}: Season 1: Episode {e}","1/{e}/24"\n' for title in TITLES for e in (1, 2))
    export = ("Title,Date\n" + rows + '"Not A Real Row\n').encode()
    deps = query_activities.ActivitiesDeps(
        repo, ViewingRepository(moto_tables["viewing"], 1), activities_queue, shows_queue, 50,
        gandalf=lambda: None, read_upload=lambda key: export,
    )
    request = ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key="uploads/x.csv")
    query_activities.handle(request, lambda: 300_000, deps)
    assert repo.get(session_id).total_shows == len(TITLES)  # the history was read and split
    assert_no_title(logged())


def test_query_show_data_upstream_failures_log_ids_not_titles(moto_tables, logged) -> None:
    repo, session_id = crunching_session(moto_tables)
    sqs = boto3.client("sqs", region_name=REGION)
    rt_queue = sqs.create_queue(QueueName="rt")["QueueUrl"]
    tmdb = TmdbClient("https://tmdb.test", "k", http=httpx.Client(transport=ScriptedTransport(httpx.Response(503))),
                      retry=NO_WAIT)
    deps = query_show_data.ShowDataDeps(repo, ViewingRepository(moto_tables["viewing"], 1),
                                        ShowCacheRepository(moto_tables["show_cache"], 30), rt_queue, lambda: tmdb)
    shows = [ShowRef(show_key=slug, title=title) for slug, title in zip(SLUGS, TITLES, strict=False)]
    query_show_data.handle(ShowChunk(session_id=session_id, chunk_id=0, shows=shows), deps)
    text = logged()
    assert "show lookup failed" in text and "upstream call failed" in text
    assert_no_title(text)


def test_crawl_failures_and_misses_log_no_title_nor_page_slug(moto_tables, logged) -> None:
    repo, session_id = crunching_session(moto_tables)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/search":  # one title is found, the others are not
            found = request.url.params["search"] == TITLES[0]
            link = f'<search-page-media-row><a href="/tv/{SLUGS[0]}" slot="title">{TITLES[0]}</a></search-page-media-row>'
            # a real search page (its header is there) with no row for the others
            return httpx.Response(200, text=f"<html><search-page-header></search-page-header>"
                                            f"{link if found else ''}</html>")
        return httpx.Response(503)  # the show's own page fails

    rt = RottenTomatoesClient("https://rt.test", http=httpx.Client(transport=httpx.MockTransport(answer)),
                              retry=NO_WAIT)
    cache = ShowCacheRepository(moto_tables["show_cache"], 30)
    for i, title in enumerate(TITLES):  # what query_show_data cached before the crawl
        cache.put_show(CachedShow(tmdb_id=i + 1, name=title, overview=f"{title}, a drama"))
    deps = crawl_rotten_tomatoes.CrawlDeps(repo, cache, lambda: rt)
    shows = [RtShowRef(show_key=slug, title=title, tmdb_id=i + 1) for i, (slug, title) in enumerate(zip(SLUGS, TITLES, strict=False))]
    crawl_rotten_tomatoes.handle(RtChunk(session_id=session_id, chunk_id=0, shows=shows), deps)
    text = logged()
    assert "rt series not found" in text
    assert_no_title(text)


def test_a_batch_that_fails_entirely_names_error_types_only(logged) -> None:
    def on_record(record, _context) -> None:
        parse_message(record, ShowChunk)  # the body breaks the model: pydantic quotes the input

    handler = batch_handler(on_record)
    body = json.dumps({"session_id": "s", "chunk_id": -1, "shows": [{"show_key": SLUGS[0], "title": TITLES[0]}]})
    event = {"Records": [{"messageId": "m1", "receiptHandle": "r", "body": body, "attributes": {},
                          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": REGION}]}
    with pytest.raises(BatchFailed) as failed:
        handler(event, FakeContext())
    assert str(failed.value) == "every record of the batch failed: 1 ValidationError"
    assert "record failed" in (text := logged())
    assert_no_title(text + str(failed.value))
