"""Issue 7 §3 on one local system with AWS faults (injected DynamoDB and SQS errors)
and upstream faults (5xx from every sandbox service) on, started once for this module:

- DELETE while each stage is in flight: soon after, nothing of the session in any
  table or the uploads bucket, GET 404, and a fresh session still completes;
- 20 concurrent sessions of mixed viewers (distinct histories, a real export among
  them): all COMPLETED, counters exact, each report built from its own history only;
- a poison body on every stage queue and every DLQ, and a poison stream record:
  each accounted (dead-lettered, logged unreadable, sent to the stream's on-failure
  queue) while a real session completes, and a later session's follow-ups still fire.

Figures (wall times, faults injected, purge times) go to the closing notes, not
assertions."""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.aws_faults import uniform_faults
from local.sandbox import build_viewer
from local.sandbox.viewers import GANDALF_DATE_FORMAT, VIEWER_PROFILES, ViewerProfile
from local.system import LocalSystem, ServiceFaults, SystemOptions
from tvreport.netflix.csv_reader import read_netflix_csv
from tvreport.stages.history import group_plays
from tvreport.text import normalize_title

pytestmark = pytest.mark.e2e

AWS_FAULT_RATE = 0.02
UPSTREAM_ERROR_RATE = 0.05
CHUNK_SIZE = 10  # several chunks per session, so a DELETE can land between two
DELETE_SETTLED_S = 120  # issue 7: two minutes after the DELETE nothing is left
FINISH_TIMEOUT_S = 900
STAGES = ("queryActivities", "queryShowData", "crawlRottenTomatoes", "tvBFF", "starSignPicker")
STAGE_QUEUES = ("QueryActivities", "QueryShowData", "CrawlRottenTomatoes", "TvBff", "StarSignPicker")
REAL_EXPORT = "simranvatsa_NetflixViewingHistory.csv"


@dataclass
class Started:
    session_id: str
    titles: frozenset[str]  # the normalized show names of this session's own history
    shows: int
    activities: int  # plays, as queryActivities groups them


def _started(session_id: str, plays: list[tuple[str, date, str | None]]) -> Started:
    grouped, _ = group_plays(plays)
    shows = [entry for entry in grouped.values() if entry.kind == "show"]
    return Started(session_id, frozenset(normalize_title(entry.title) for entry in shows), len(shows),
                   sum(len(entry.plays) for entry in grouped.values()))


def _gandalf_plays(activities: list[dict]) -> list[tuple[str, date, str | None]]:
    plays = []
    for activity in activities:
        metadata = activity["metadata"]
        imdb = next((i["value"] for i in metadata["subject"] if i["identifierType"] == "IMDB"), None)
        plays.append((metadata["title"], datetime.strptime(metadata["date"], GANDALF_DATE_FORMAT).date(), imdb))
    return plays


@pytest.fixture(scope="module")
def system() -> Iterator[LocalSystem]:
    upstream = ServiceFaults(error_rate=UPSTREAM_ERROR_RATE, latency_ms=20)  # latency: stages stay in flight a little
    options = SystemOptions(
        viewer="typical", chunk_size=CHUNK_SIZE, concurrency=2, seed=11,
        aws_faults=uniform_faults(AWS_FAULT_RATE),
        faults={service: upstream for service in ("gandalf", "tmdb", "rottentomatoes")},
    )
    with LocalSystem(options) as running:
        yield running


# -- helpers ----------------------------------------------------------------------


def _retrying(call, attempts: int = 6) -> httpx.Response:
    """A careful client: a 5xx (an injected AWS fault that survived botocore's retries)
    is tried again."""
    for attempt in range(attempts):
        response = call()
        if response.status_code < 500 or attempt == attempts - 1:
            return response
        time.sleep(0.3 * 2**attempt)
    raise AssertionError("unreachable")


def _start_profile(system: LocalSystem, profile: ViewerProfile) -> Started:
    """A session over HTTP for a generated history (a seed of its own: its own shows)."""
    activities = build_viewer(profile, date.today(), system.sandbox.catalogue)
    data_key = secrets.token_urlsafe(24)
    system.sandbox.register_viewer(data_key, activities)
    body = {"dataKey": data_key, "clientToken": secrets.token_hex(16)}
    response = _retrying(lambda: httpx.post(f"{system.api_url}/sessions", json=body, timeout=60))
    assert response.status_code in (200, 201), response.text[:500]
    return _started(response.json()["sessionId"], _gandalf_plays(activities))


def _start_export(system: LocalSystem, path: Path) -> Started:
    text = path.read_text(encoding="utf-8-sig")
    session_id = system.start_session(netflix_csv=text)
    rows = read_netflix_csv(text).activities
    return _started(session_id, [(row.title, row.watched_on, row.imdb_id) for row in rows])


def _get(system: LocalSystem, session_id: str) -> httpx.Response:
    return _retrying(lambda: httpx.get(f"{system.api_url}/sessions/{session_id}", timeout=60))


def _items_of(system: LocalSystem, session_id: str) -> dict[str, int]:
    """Items anywhere in the stack's tables that name the session (its partitions,
    token items pointing at it, anything in the shared show cache), by table."""
    assert system.stack is not None and system.aws is not None
    client = system.aws.client("dynamodb")  # the runner's client: exempt from faults
    found: dict[str, int] = {}
    for logical_id, name in system.stack.tables.items():
        for page in client.get_paginator("scan").paginate(TableName=name):
            hits = sum(session_id in json.dumps(item, default=str) for item in page["Items"])  # B: bytes
            if hits:
                found[logical_id] = found.get(logical_id, 0) + hits
    return found


def _objects_of(system: LocalSystem, session_id: str) -> list[str]:
    assert system.stack is not None and system.aws is not None
    s3 = system.aws.client("s3")
    keys = []
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            keys += [obj["Key"] for obj in page.get("Contents", []) if session_id in obj["Key"]]
    return keys


def _wait_finished(system: LocalSystem, session_id: str) -> dict[str, Any]:
    return system.wait_finished(session_id, timeout_s=FINISH_TIMEOUT_S, poll_s=1.0)


def _assert_exact(document: dict[str, Any], report: dict[str, Any] | None, started: Started) -> None:
    assert document["state"] == "COMPLETED", (document["sessionId"], document.get("failureReason"))
    counters, stages = document["counters"], document["stages"]
    assert all(stages[stage]["percent"] == 100 for stage in STAGES), stages
    for stage in ("queryShowData", "crawlRottenTomatoes"):
        figures = stages[stage]
        assert figures["chunksDone"] + figures["chunksFailed"] == counters["totalChunks"], (stage, figures)
        assert figures["showsDone"] + figures["showsFailed"] == counters["totalShows"], (stage, figures)
    assert report is not None
    statistics = report["statistics"]
    assert statistics["showsWatched"] == counters["totalShows"]
    assert statistics["totalPlays"] == counters["activities"]
    # the report names only this session's shows
    assert counters["totalShows"] == started.shows and counters["activities"] == started.activities
    named = {normalize_title(show["title"]) for show in statistics["topShows"]}
    if statistics.get("firstShow"):
        named.add(normalize_title(statistics["firstShow"]["title"]))
    assert named and named <= started.titles, named - started.titles


# -- DELETE mid-flight --------------------------------------------------------------


def _in_flight(stage: str, document: dict[str, Any]) -> bool:
    stages = document["stages"]
    if stage == "queryActivities":  # sent at create; in flight until every page is stored
        return stages[stage]["percent"] < 100
    if stage == "tvBFF":  # the AI stages: 1 % from the request to the stored result
        return any(0 < stages[ai]["percent"] < 100 for ai in ("tvBFF", "starSignPicker"))
    return 0 < stages[stage]["percent"] < 100


DELETED_STAGES = ("queryActivities", "queryShowData", "crawlRottenTomatoes", "tvBFF")


def _delete(system: LocalSystem, session_id: str, attempts: int = 6) -> None:
    """DELETE as a careful client: a 5xx is tried again. A DELETE cut short by an AWS
    error after its tombstone answers 5xx, and its retry 404 (the session reads as
    gone; the watchdog's purge finishes the job): both mean deleted."""
    statuses = []
    for attempt in range(attempts):
        status = httpx.delete(f"{system.api_url}/sessions/{session_id}", timeout=60).status_code
        statuses.append(status)
        if status < 500:
            break
        time.sleep(0.3 * 2**attempt)
    assert statuses[-1] == 200 or (statuses[-1] == 404 and statuses[0] >= 500), statuses
    if len(statuses) > 1:
        print(f"DELETE answered {statuses}")


def _delete_in_flight(system: LocalSystem, stage: str, tries: int = 3) -> tuple[Started, dict[str, Any]]:
    """Start a session, watch it until `stage` is in flight, DELETE it: the session
    and its stages as the last GET before the DELETE saw them. A session that ends
    between two looks (an AI stage's window is short) is tried again with another."""
    for attempt in range(tries):
        seed = 7_000 + 10 * STAGES.index(stage) + attempt
        started = _start_profile(system, ViewerProfile(f"delete-{stage}", activities=1_500, shows=80, movies=8,
                                                       seed=seed))
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        document = _get(system, started.session_id).raise_for_status().json()
        while document["state"] == "CRUNCHING_DATA" and not _in_flight(stage, document):
            assert time.monotonic() < deadline, (stage, document["stages"])
            time.sleep(0.05)
            document = _get(system, started.session_id).raise_for_status().json()
        if document["state"] != "CRUNCHING_DATA":
            print(f"DELETE during {stage}: try {attempt + 1} ended {document['state']} before it was seen in flight")
            continue
        _delete(system, started.session_id)
        return started, document
    raise AssertionError(f"{stage} was never seen in flight in {tries} sessions")


def test_a_delete_while_each_stage_is_in_flight_leaves_nothing(system: LocalSystem) -> None:
    """One session per stage, side by side, each deleted while its stage works."""
    with ThreadPoolExecutor(max_workers=len(DELETED_STAGES)) as pool:
        results = dict(zip(DELETED_STAGES, pool.map(lambda stage: _delete_in_flight(system, stage), DELETED_STAGES), strict=False))
    deleted_at = time.monotonic()
    for stage, (_, seen) in results.items():
        print(f"DELETE during {stage}: stages at the DELETE {json.dumps({k: v['percent'] for k, v in seen['stages'].items()})}")
    pending = {stage: started.session_id for stage, (started, _) in results.items()}
    leftovers: dict[str, dict[str, int]] = {}
    while pending and time.monotonic() - deleted_at < DELETE_SETTLED_S:
        leftovers = {stage: _items_of(system, session_id) for stage, session_id in pending.items()}
        for stage, items in leftovers.items():
            if not items:
                print(f"DELETE during {stage}: nothing left {time.monotonic() - deleted_at:.1f} s after the last DELETE")
                pending.pop(stage)
        time.sleep(2)
    assert not pending, {stage: leftovers[stage] for stage in pending}
    for stage, (started, _) in results.items():
        assert _objects_of(system, started.session_id) == [], stage
        assert _get(system, started.session_id).status_code == 404, stage
    # The stream is not blocked: a fresh session completes, and nothing came back meanwhile.
    fresh = _start_profile(system, VIEWER_PROFILES["light"])
    _assert_exact(_wait_finished(system, fresh.session_id), system.get_report(fresh.session_id), fresh)
    for stage, (started, _) in results.items():
        assert _items_of(system, started.session_id) == {}, stage


# -- concurrent sessions -----------------------------------------------------------


def test_twenty_concurrent_mixed_sessions_complete_exactly_with_their_own_shows(
        system: LocalSystem, real_fixtures: Path) -> None:
    profiles = [ViewerProfile(f"light-{n}", activities=300, shows=25, movies=3, seed=8_000 + n) for n in range(15)]
    profiles += [ViewerProfile(f"typical-{n}", activities=1_500, shows=80, movies=8, seed=9_000 + n) for n in range(3)]
    exports = [real_fixtures / "netflix" / REAL_EXPORT, real_fixtures / "netflix" / "JustAuramo_NetflixViewingHistory_fi.csv"]
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        starts = list(pool.map(lambda p: _start_profile(system, p), profiles))
        starts += list(pool.map(lambda path: _start_export(system, path), exports))
    assert len({s.session_id for s in starts}) == 20
    with ThreadPoolExecutor(max_workers=4) as pool:
        documents = list(pool.map(lambda s: _wait_finished(system, s.session_id), starts))
    print(f"20 concurrent sessions finished in {time.monotonic() - began:.0f} s; aws {system.stats()['aws']}")
    for started, document in zip(starts, documents, strict=False):
        _assert_exact(document, system.get_report(started.session_id), started)
    assert system.stats()["aws"]["injected_total"] > 0


# -- poison ------------------------------------------------------------------------

POISON_BODIES = ("{not json", json.dumps({"poison": True, "chunk_id": "seven"}))  # no queue's model


def _log_lines(system: LocalSystem, message: str) -> int:
    return sum(log.read_text(errors="replace").count(f'"message":"{message}"')
               for log in (system.run_dir / "logs").glob("*.log"))


def _on_failure_depth(system: LocalSystem) -> int:
    assert system.stack is not None and system.aws is not None
    (url,) = [url for logical_id, url in system.stack.queues.items() if "OnFailureQueue" in logical_id]
    attributes = system.aws.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_poison_on_every_queue_and_the_stream_is_accounted_and_blocks_nothing(system: LocalSystem) -> None:
    assert system.stack is not None and system.aws is not None and system.engine is not None
    queues = {logical_id: url for logical_id, url in system.stack.queues.items() if "OnFailureQueue" not in logical_id}
    stage_queues = [q for q in queues if "DeadLetterQueue" not in q]
    assert len(stage_queues) == 5 and len(queues) == 10, sorted(queues)  # each stage's queue and DLQ
    unreadable_before = _log_lines(system, "unreadable dead letter")
    on_failure_before = system.engine.totals().get("on_failure_records", 0)
    depth_before = _on_failure_depth(system)

    running = _start_profile(system, ViewerProfile("poison-time", activities=1_500, shows=80, movies=8, seed=6_001))
    sqs = system.aws.client("sqs")
    for url in queues.values():
        for body in POISON_BODIES:
            sqs.send_message(QueueUrl=url, MessageBody=body)
    # A session item the tracker cannot read: a META item with a state and no session id.
    table = system.stack.tables[next(t for t in system.stack.tables if "Sessions" in t)]
    poison_key = {"pk": {"S": f"SESSION#poison-{secrets.token_hex(4)}"}, "sk": {"S": "META"}}
    system.aws.client("dynamodb").put_item(TableName=table, Item={**poison_key, "state": {"S": "CRUNCHING_DATA"}})

    document = _wait_finished(system, running.session_id)
    _assert_exact(document, system.get_report(running.session_id), running)
    created = datetime.fromisoformat(document["createdAt"])
    completed = datetime.fromisoformat(document["completedAt"])
    assert (completed - created).total_seconds() < system.options.stall_timeout_s  # ended within the watchdog limit

    # Every poison body accounted: 10 sent to the stage queues reach their DLQs after
    # maxReceiveCount tries, 10 sent to the DLQs directly; dead_letters logs each unreadable.
    expected = len(queues) * len(POISON_BODIES)
    deadline = time.monotonic() + 300
    while _log_lines(system, "unreadable dead letter") - unreadable_before < expected:
        assert time.monotonic() < deadline, _log_lines(system, "unreadable dead letter") - unreadable_before
        time.sleep(2)
    assert _log_lines(system, "unreadable dead letter") - unreadable_before == expected
    # The stream record went to the on-failure queue after its retries.
    while system.engine.totals().get("on_failure_records", 0) == on_failure_before:
        assert time.monotonic() < deadline, "the poison stream record was never sent to the on-failure queue"
        time.sleep(2)
    assert _on_failure_depth(system) > depth_before
    stats = system.stats()
    for logical_id in queues:
        assert stats["moto"]["queues"][logical_id] == {"visible": 0, "in_flight": 0}, (logical_id, stats["moto"]["queues"])
    system.aws.client("dynamodb").delete_item(TableName=table, Key=poison_key)

    # No shard blocked: a session started now gets every follow-up (tvBFF, starSign).
    later = _start_profile(system, VIEWER_PROFILES["light"])
    later_document = _wait_finished(system, later.session_id)
    _assert_exact(later_document, system.get_report(later.session_id), later)
    report = system.get_report(later.session_id)
    assert report is not None and report["tvBff"]["available"] and report["starSign"]["available"]
    print(f"poison: {expected} unreadable dead letters, on-failure records "
          f"{system.engine.totals().get('on_failure_records', 0) - on_failure_before}; aws {stats['aws']['injected_total']}")
