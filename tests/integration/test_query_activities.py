"""queryActivities against the Gandalf sandbox over loopback HTTP, on moto: paging,
hand-off when time runs low, and sessions that cannot succeed failing at once."""
from __future__ import annotations

import json
import math

import boto3
import pytest

from local.sandbox import Sandbox, generate_gandalf_key
from tests.integration.conftest import REGION
from tvreport.clients.gandalf import GandalfClient
from tvreport.messages import ActivitiesRequest
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import State
from tvreport.stages import query_activities
from tvreport.stages.query_activities import ActivitiesDeps



@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as running:
        yield running


@pytest.fixture
def env(moto_tables, sandbox):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("activities", "show-data")}
    sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)

    def deps(private_key_hex: str | None = None) -> ActivitiesDeps:
        client = GandalfClient(sandbox.gandalf_url, private_key_hex or sandbox.gandalf_private_key_hex)
        return ActivitiesDeps(sessions, ViewingRepository(moto_tables["viewing"], ttl_days=1), queues["activities"],
                              queues["show-data"], chunk_size=50, gandalf=lambda: client, read_upload=lambda key: b"")

    return sessions, queues, deps


def drain(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def start(sessions: SessionRepository, session_id: str) -> None:
    sessions.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)


def test_a_history_is_handed_over_when_time_runs_low(env, sandbox):
    sessions, queues, deps = env
    start(sessions, "handoff")
    request = ActivitiesRequest(session_id="handoff", source="gandalf", data_key="typical")
    query_activities.handle(request, lambda: 1_000, deps())  # 1 s left: one page, then hand over
    handoff = drain(queues["activities"])
    assert [m["next_page"] for m in handoff] == [2] and handoff[0]["data_key"] == "typical"
    assert handoff[0]["date_format"] is None  # decided once, over the whole history, at the end
    view = sessions.get("handoff")
    pages = math.ceil(len(sandbox.gandalf._viewers["typical"]) / 300)
    assert (view.activity_pages_done, view.activity_pages_total, view.total_chunks) == (1, pages, None)
    assert drain(queues["show-data"]) == []

    query_activities.handle(ActivitiesRequest.model_validate(handoff[0]), lambda: 900_000, deps())
    view = sessions.get("handoff")
    chunks = drain(queues["show-data"])
    assert view.total_chunks == len(chunks) == 2 and view.total_shows == 80
    assert sum(len(c["shows"]) for c in chunks) == 80
    assert view.item["activities"] == len(sandbox.gandalf._viewers["typical"])

    # the same in one go gives the same totals; a redelivered last part changes nothing
    start(sessions, "one-go")
    one_go = ActivitiesRequest(session_id="one-go", source="gandalf", data_key="typical")
    for _ in range(2):
        query_activities.handle(one_go, lambda: 900_000, deps())
    again = sessions.get("one-go")
    assert (again.total_shows, again.total_chunks, again.item["activities"]) == (80, 2, view.item["activities"])


@pytest.mark.parametrize("data_key, signing_key, reason", [
    ("no-such-key", None, "RECORD_NOT_FOUND"),
    ("typical", generate_gandalf_key()[0], "INVALID_SIGNATURE"),
])
def test_a_history_that_cannot_be_read_fails_the_session_at_once(env, sandbox, data_key, signing_key, reason):
    sessions, queues, deps = env
    start(sessions, "doomed")
    before = sum(sandbox.stats()["gandalf"]["requests"].values())
    request = ActivitiesRequest(session_id="doomed", source="gandalf", data_key=data_key)
    query_activities.handle(request, lambda: 900_000, deps(signing_key))
    view = sessions.get("doomed")
    assert (view.state, view.failure_reason) == (State.FAILED, reason)
    assert sum(sandbox.stats()["gandalf"]["requests"].values()) - before == 1  # no retry storm
    assert drain(queues["activities"]) == drain(queues["show-data"]) == []


def test_an_empty_history_is_split_into_nothing(env, sandbox):
    sessions, queues, deps = env
    sandbox.register_viewer("nothing-watched", [])
    start(sessions, "empty")
    query_activities.handle(ActivitiesRequest(session_id="empty", source="gandalf", data_key="nothing-watched"),
                            lambda: 900_000, deps())
    view = sessions.get("empty")
    assert (view.state, view.total_shows, view.total_chunks) == (State.CRUNCHING_DATA, 0, 0)
    assert drain(queues["show-data"]) == []  # the tracker then emits both AI stages at once
