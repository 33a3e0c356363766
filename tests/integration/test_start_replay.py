"""A create or connect that dies between the session write and the first send (the
SQS call fails at the boto edge): the session records that its start was never
queued, and the same request repeated queues it, once."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import REGION
from tests.integration.test_api import CONNECT_ENV
from tests.support.aws_edge import Edge, sqs_entries_failed
from tests.support.events import api_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.queues import drain
from tvreport import aws, env_keys, wiring
from tvreport.messages import ActivitiesRequest
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import State
from tvreport.stages import query_activities

SEND = "SendMessageBatch"


@pytest.fixture
def api(moto_tables, function_env):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {n: sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("activities", "show-data")}
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="uploads")
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queues["activities"], env_keys.UPLOADS_BUCKET: "uploads",
                  **CONNECT_ENV})
    module = load_handler("api")

    def call(method, path, body=None):
        response = module.handler(api_event(method, path, body), FakeContext())
        return response["statusCode"], json.loads(response["body"] or "null")

    call.queues = queues
    call.sqs_edge = Edge(aws.client("sqs"))  # the client the publisher sends with
    call.sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)
    call.viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    return call


def start_pending(api, session_id: str) -> bool:
    view = api.sessions.get(session_id)
    return view.state is State.CRUNCHING_DATA and not view.start_sent


def test_a_replayed_create_sends_the_start_the_first_never_sent(api, real_fixtures):
    csv_text = (real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv").read_text()
    body = {"netflixCsv": csv_text, "clientToken": "replay-me-0000000001"}
    api.sqs_edge.answer(SEND, sqs_entries_failed)
    status, failed = api("POST", "/sessions", body)
    assert status == 503 and "repeat the request" in failed["message"]
    assert drain(api.queues["activities"]) == []

    status, replayed = api("POST", "/sessions", body)
    assert status == 200 and replayed["state"] == "CRUNCHING_DATA"
    sid = replayed["sessionId"]
    assert not start_pending(api, sid)
    assert api("POST", "/sessions", body)[0] == 200  # a third call: already sent, nothing re-sent
    (start,) = drain(api.queues["activities"])
    assert start["session_id"] == sid and start["upload_key"] == f"uploads/{sid}.csv"

    # the first stage runs on the one start message; a duplicate start (two replays
    # racing) would change nothing: the same records, totals and chunks
    deps = query_activities.ActivitiesDeps(api.sessions, api.viewing, api.queues["activities"],
                                           api.queues["show-data"], chunk_size=50, gandalf=lambda: None,
                                           read_upload=wiring.read_upload("uploads"))
    request = ActivitiesRequest.model_validate(start)
    query_activities.handle(request, lambda: 60_000, deps)
    first = api.sessions.get(sid)
    chunks = drain(api.queues["show-data"])
    assert first.total_chunks == len(chunks) > 0
    assert sorted(c["chunk_id"] for c in chunks) == list(range(first.total_chunks))
    query_activities.handle(request, lambda: 60_000, deps)
    again = api.sessions.get(sid)
    assert (again.total_shows, again.total_chunks, again.activities) == \
           (first.total_shows, first.total_chunks, first.activities)
    # wave 0 was claimed and sent the first time: a duplicate split sends no chunk again
    assert drain(api.queues["show-data"]) == []


def test_a_replay_with_another_body_is_refused_and_sends_nothing(api):
    api.sqs_edge.answer(SEND, sqs_entries_failed)
    assert api("POST", "/sessions", {"dataKey": "key-1", "clientToken": "tok-other-00000001"})[0] == 503
    status, body = api("POST", "/sessions", {"dataKey": "key-2", "clientToken": "tok-other-00000001"})
    assert status == 409 and "another request" in body["message"] and "key-2" not in json.dumps(body)
    assert drain(api.queues["activities"]) == []


def test_a_repeated_connect_sends_the_start_the_first_never_sent(api):
    sid = api("POST", "/sessions", {})[1]["sessionId"]
    api.sqs_edge.answer(SEND, sqs_entries_failed)
    status, body = api("POST", f"/sessions/{sid}/connect", {"dataKey": "key-1"})
    assert status == 503 and start_pending(api, sid)
    assert api("POST", f"/sessions/{sid}/connect", {"dataKey": "other-key"})[0] == 409  # not the same start
    status, connected = api("POST", f"/sessions/{sid}/connect", {"dataKey": "key-1"})
    assert status == 200 and connected["state"] == "CRUNCHING_DATA" and not start_pending(api, sid)
    assert api("POST", f"/sessions/{sid}/connect", {"dataKey": "key-1"})[0] == 409  # sent: no more
    assert [m["data_key"] for m in drain(api.queues["activities"])] == ["key-1"]
