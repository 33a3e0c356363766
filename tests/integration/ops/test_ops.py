"""`python -m ops` against the real template deployed into a moto server.

Sessions are driven by the layer's own code: the split that queryActivities does,
the real queryShowData and crawlRottenTomatoes stages (from a warm show cache, so
no upstream is called), and the real dead_letters stage on a DLQ message."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from local.deploy import DeployedStack
from local.moto_aws import MotoAws
from ops.cli import EXIT_AWS_ERROR, EXIT_NOT_FOUND, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, main
from tests.integration.ops.conftest import CHUNK_SIZE, STACK_NAME
from tests.support.values import statistics
from tvreport import progress, publisher
from tvreport.messages import RtChunk, ShowChunk
from tvreport.records import CachedShow, RtScores
from tvreport.repositories._dynamo import iso, utc_now
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.schema import STAGES
from tvreport.session_model import Stage, State
from tvreport.stages import crawl_rotten_tomatoes, dead_letters, query_show_data
from tvreport.stages.query_activities import chunk_messages

SHOWS = 10  # CHUNK_SIZE 4: chunks of 4, 4 and 2 shows
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _no_upstream() -> Any:
    raise AssertionError("the show cache is warm: no upstream call expected")


@dataclass
class Driver:
    """The pipeline's stages, run by hand on the deployed resources."""

    moto: MotoAws
    stack: DeployedStack

    def __post_init__(self) -> None:
        outputs = self.stack.outputs
        self.sessions = SessionRepository(outputs["SessionsTableName"], 1)
        self.viewing = ViewingRepository(outputs["ViewingTableName"], 1)
        self.cache = ShowCacheRepository(outputs["ShowCacheTableName"], 30)
        self.sqs = self.moto.client("sqs")

    def url(self, stem: str) -> str:
        return self.stack.outputs[f"{stem}QueueUrl"]

    def dlq_url(self, stem: str) -> str:
        return self.stack.outputs[f"{stem}DeadLetterQueueUrl"]

    def new_session(self) -> str:
        """A crunching session whose history has been split into 3 chunks (what
        queryActivities' split does), its shows in the cache with scores."""
        session_id = str(uuid.uuid4())
        self.sessions.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
        for n in range(SHOWS):
            imdb = f"tt90000{n:02d}"
            self.viewing.add_plays(session_id, f"show {n:02d}", title=f"Show {n:02d}", kind="show",
                                   plays={f"2024-01-{n + 1:02d}||1"}, imdb_id=imdb)
            self.cache.put_show(CachedShow(tmdb_id=9000 + n, name=f"Show {n:02d}", first_air_year=2020,
                                           imdb_id=imdb, fetched_at=iso(utc_now())))
            self.cache.update_rotten_tomatoes(9000 + n, RtScores(critics_score=80 + n, audience_score=70))
            self.cache.put_alias(query_show_data.imdb_alias_key(imdb), 9000 + n)  # as queryShowData leaves it
        messages = chunk_messages(session_id, self.viewing.records(session_id, as_of=date.today()), CHUNK_SIZE)
        self.sessions.set_totals(session_id, total_shows=SHOWS, total_chunks=len(messages), movies=0,
                                 activities=SHOWS, rejected=0)
        publisher.send(self.url("QueryShowData"), messages)
        return session_id

    def receive(self, url: str, visibility_s: int | None = None) -> list[dict[str, Any]]:
        """What the queue holds, visible now (visibility_s=0: and left visible)."""
        extra = {} if visibility_s is None else {"VisibilityTimeout": visibility_s}
        return self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                        **extra).get("Messages", [])

    def run_show_data(self, skip_chunks: tuple[int, ...] = ()) -> list[ShowChunk]:
        """queryShowData on every message of its queue; chunks in `skip_chunks` are
        taken off the queue unprocessed and returned (the caller decides their fate:
        they stand for messages SQS moved to the DLQ)."""
        skipped = []
        deps = query_show_data.ShowDataDeps(self.sessions, self.viewing, self.cache, self.url("CrawlRottenTomatoes"),
                                            tmdb=_no_upstream)
        for message in self.receive(self.url("QueryShowData")):
            chunk = ShowChunk.model_validate_json(message["Body"])
            if chunk.chunk_id in skip_chunks:
                skipped.append(chunk)
            else:
                query_show_data.handle(chunk, deps)
            self.sqs.delete_message(QueueUrl=self.url("QueryShowData"), ReceiptHandle=message["ReceiptHandle"])
        return skipped

    def run_crawl(self) -> None:
        deps = crawl_rotten_tomatoes.CrawlDeps(self.sessions, self.cache, rotten_tomatoes=_no_upstream)
        for message in self.receive(self.url("CrawlRottenTomatoes")):
            crawl_rotten_tomatoes.handle(RtChunk.model_validate_json(message["Body"]), deps)
            self.sqs.delete_message(QueueUrl=self.url("CrawlRottenTomatoes"), ReceiptHandle=message["ReceiptHandle"])

    def dead_letter(self, chunk: ShowChunk, record: bool) -> None:
        """The chunk exhausted its receives: SQS puts it in the DLQ; with `record`,
        the dead_letters stage has then counted it (and taken it off the DLQ)."""
        dlq = self.dlq_url("QueryShowData")
        if not record:
            publisher.send(dlq, [chunk])
            return
        arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        dead_letters.handle(chunk.model_dump_json(), arn,
                            dead_letters.DeadLetterDeps(self.sessions, {arn: Stage.QUERY_SHOW_DATA}))

    def counters(self, session_id: str) -> dict[str, tuple[int, int, int, int]]:
        view = self.sessions.get(session_id)
        assert view is not None
        return {name: (c.shows_done, c.shows_failed, c.chunks_done, c.chunks_failed)
                for name, c in (("sd", view.show_data), ("rt", view.rotten_tomatoes))}


@pytest.fixture
def driver(local_aws: tuple[MotoAws, DeployedStack]) -> Driver:
    return Driver(*local_aws)


def ops(moto: MotoAws, *argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    """`python -m ops --endpoint-url ... --json ARGV` in-process: exit code, JSON."""
    capsys.readouterr()
    code = main(["--endpoint-url", moto.url, "--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_session_shows_stages_ledger_and_where_each_chunk_is(driver: Driver, capsys) -> None:
    session_id = driver.new_session()
    (one, two) = driver.run_show_data(skip_chunks=(1, 2))
    driver.run_crawl()
    driver.dead_letter(one, record=True)  # counted failed in both chunked stages
    driver.dead_letter(two, record=False)  # still in the DLQ
    driver.sqs.send_message(QueueUrl=driver.dlq_url("CrawlRottenTomatoes"), MessageBody="{not json")

    code, doc = ops(driver.moto, "session", session_id, capsys=capsys)

    assert code == EXIT_OK
    view = driver.sessions.get(session_id)
    assert doc["state"] == "CRUNCHING_DATA"
    assert doc["stages"] == {s.value: p for s, p in progress.stage_percentages(view).items()}
    assert doc["stages"]["query_show_data"] == 80  # 4 done + 4 failed of 10 shows
    assert doc["counters"]["query_show_data"] == {"shows_done": 4, "shows_failed": 4, "chunks_done": 1,
                                                  "chunks_failed": 1}
    assert sorted((e["stage"], e["chunk_id"], e["status"]) for e in doc["ledger"]) == [
        ("crawl_rotten_tomatoes", 0, "done"), ("crawl_rotten_tomatoes", 1, "dead-lettered"),
        ("query_show_data", 0, "done"), ("query_show_data", 1, "dead-lettered")]
    assert doc["chunks"] == [
        {"chunk_id": 0, "query_show_data": "done", "crawl_rotten_tomatoes": "done"},
        {"chunk_id": 1, "query_show_data": "dead-lettered", "crawl_rotten_tomatoes": "dead-lettered"},
        {"chunk_id": 2, "query_show_data": "in DLQ", "crawl_rotten_tomatoes": "pending"},
    ]
    # Looking did not take the message away: the DLQ still holds it, visible.
    still_there = driver.receive(driver.dlq_url("QueryShowData"), visibility_s=0)
    assert [ShowChunk.model_validate_json(m["Body"]).chunk_id for m in still_there] == [2]

    assert main(["--endpoint-url", driver.moto.url, "session", session_id]) == EXIT_OK
    table = capsys.readouterr().out
    assert "dead-lettered" in table and "in DLQ" in table and "80%" in table


def test_dlq_lists_each_message_with_its_session_and_chunk_and_flags_poison(driver: Driver, capsys) -> None:
    session_id = driver.new_session()
    (two,) = driver.run_show_data(skip_chunks=(2,))
    driver.dead_letter(two, record=False)
    driver.sqs.send_message(QueueUrl=driver.dlq_url("CrawlRottenTomatoes"), MessageBody='{"session_id": 7}')

    code, doc = ops(driver.moto, "dlq", capsys=capsys)

    assert code == EXIT_OK
    by_stage = {q["stage"]: q for q in doc["queues"]}
    assert set(by_stage) == {spec.folder for spec in STAGES.values()}  # every stage's DLQ
    (chunk,) = by_stage["query_show_data"]["messages"]
    assert (chunk["session_id"], chunk["chunk_id"], chunk["shows"], chunk["poison"]) == (session_id, 2, 2, False)
    (poison,) = by_stage["crawl_rotten_tomatoes"]["messages"]
    assert poison["poison"] is True and poison["errors"] >= 2 and "session_id" not in poison
    assert by_stage["tv_bff"]["messages"] == []
    # Both messages are still there for dead_letters (or a redrive) to take.
    assert len(driver.receive(driver.dlq_url("QueryShowData"), visibility_s=0)) == 1
    assert len(driver.receive(driver.dlq_url("CrawlRottenTomatoes"), visibility_s=0)) == 1


def test_redrive_moves_a_dlq_back_to_its_queue(driver: Driver, capsys) -> None:
    session_id = driver.new_session()
    stuck = driver.run_show_data(skip_chunks=(1, 2))
    for chunk in stuck:
        driver.dead_letter(chunk, record=False)

    code, doc = ops(driver.moto, "redrive", "query_show_data", capsys=capsys)

    assert code == EXIT_OK
    assert (doc["method"], doc["moved"], doc["failed"]) == ("copy", 2, 0)
    assert doc["dead_letter_depth_after"] == {"visible": 0, "in_flight": 0}
    assert driver.receive(driver.dlq_url("QueryShowData")) == []
    # Moved back with their session as message group (the fair-queue tenant)
    back = driver.sqs.receive_message(QueueUrl=driver.url("QueryShowData"), MaxNumberOfMessages=10, VisibilityTimeout=0,
                                      MessageSystemAttributeNames=["MessageGroupId"])["Messages"]
    assert [m["Attributes"]["MessageGroupId"] for m in back] == [session_id, session_id]
    # Moved back whole, and the stage now counts them done.
    assert driver.run_show_data() == []
    driver.run_crawl()
    assert driver.counters(session_id) == {"sd": (10, 0, 3, 0), "rt": (10, 0, 3, 0)}


def test_a_move_task_on_moto_is_reported_as_refused_and_moves_nothing(driver: Driver, capsys) -> None:
    driver.new_session()
    (two,) = driver.run_show_data(skip_chunks=(2,))
    driver.dead_letter(two, record=False)

    code, doc = ops(driver.moto, "redrive", "query_show_data", "--method", "move-task", capsys=capsys)

    assert code == EXIT_AWS_ERROR and doc["error"].startswith("AWS refused StartMessageMoveTask: 500")
    assert len(driver.receive(driver.dlq_url("QueryShowData"), visibility_s=0)) == 1


def test_retry_failed_recounts_a_dead_lettered_chunk_as_done_exactly_once(driver: Driver, capsys) -> None:
    session_id = driver.new_session()
    (one,) = driver.run_show_data(skip_chunks=(1,))
    driver.run_crawl()
    driver.dead_letter(one, record=True)
    assert driver.counters(session_id) == {"sd": (6, 4, 2, 1), "rt": (6, 4, 2, 1)}

    code, doc = ops(driver.moto, "retry-failed", session_id, capsys=capsys)

    assert code == EXIT_OK
    assert doc["retried"] == [{"chunk_id": 1, "stages": ["query_show_data", "crawl_rotten_tomatoes"], "shows": 4}]
    # Taken off the counters in one step; the chunk is uncounted until it runs again.
    assert driver.counters(session_id) == {"sd": (6, 0, 2, 0), "rt": (6, 0, 2, 0)}
    code, again = ops(driver.moto, "retry-failed", session_id, capsys=capsys)
    assert (code, again["retried"], again["skipped"]) == (EXIT_OK, [], [])  # nothing dead-lettered any more

    assert driver.run_show_data() == []  # the rebuilt message is the original chunk 1...
    driver.run_crawl()
    assert driver.counters(session_id) == {"sd": (10, 0, 3, 0), "rt": (10, 0, 3, 0)}  # ...now counted done
    code, third = ops(driver.moto, "retry-failed", session_id, capsys=capsys)
    assert (code, third["retried"]) == (EXIT_OK, [])
    assert driver.counters(session_id) == {"sd": (10, 0, 3, 0), "rt": (10, 0, 3, 0)}
    assert driver.receive(driver.url("QueryShowData")) == []


def test_retry_failed_refuses_an_ended_session(driver: Driver, capsys) -> None:
    session_id = driver.new_session()
    (one,) = driver.run_show_data(skip_chunks=(1,))
    driver.dead_letter(one, record=True)
    driver.sessions.complete(session_id, statistics(shows_watched=SHOWS), partial=True)
    before = driver.counters(session_id)

    code, doc = ops(driver.moto, "retry-failed", session_id, capsys=capsys)

    assert code == EXIT_REFUSED and "COMPLETED" in doc["error"]
    assert driver.counters(session_id) == before
    # Had it ended just after that check, the transaction's own condition holds it back.
    assert driver.sessions.uncount_dead_letter(session_id, 1) == []
    assert driver.counters(session_id) == before
    assert [e["dead_lettered"] for e in driver.sessions.ledger(session_id) if e["chunk_id"] == 1] == [True, True]
    assert driver.receive(driver.url("QueryShowData")) == []


def test_cancel_ends_a_session_failed_cancelled_once(driver: Driver, capsys) -> None:
    session_id = driver.new_session()

    code, doc = ops(driver.moto, "cancel", session_id, capsys=capsys)

    assert (code, doc["state"], doc["failure_reason"]) == (EXIT_OK, "FAILED", "CANCELLED")
    assert driver.sessions.crunching(session_id) is None  # the stages drop its messages now
    assert driver.run_show_data() == []
    assert driver.counters(session_id)["sd"] == (0, 0, 0, 0)
    code, doc = ops(driver.moto, "cancel", session_id, capsys=capsys)
    assert code == EXIT_REFUSED and "already ended FAILED" in doc["error"]


@pytest.mark.parametrize("argv", [["session", "no-such-session"], ["cancel", "no-such-session"],
                                  ["retry-failed", "no-such-session"], ["--stack-name", "NoSuchStack", "dlq"]])
def test_not_found_exits_1(driver: Driver, capsys, argv: list[str]) -> None:
    code, doc = ops(driver.moto, *argv, capsys=capsys)
    assert code == EXIT_NOT_FOUND and doc["error"]


@pytest.mark.parametrize("argv", [[], ["redrive", "nope"], ["session"], ["dlq", "--max", "0"], ["frobnicate"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert main(argv) == EXIT_USAGE


def test_as_a_module_it_reads_the_stack_by_its_outputs(driver: Driver) -> None:
    session_id = driver.new_session()
    done = subprocess.run([sys.executable, "-m", "ops", "--endpoint-url", driver.moto.url, "--stack-name",
                           STACK_NAME, "session", session_id, "--json"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == EXIT_OK, done.stderr
    doc = json.loads(done.stdout)
    assert doc["totals"] == {"shows": SHOWS, "chunks": 3, "activity_pages": [0, None]}
    assert doc["queues"]["query_show_data"] == {"visible": 3, "in_flight": 0}
