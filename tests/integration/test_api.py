"""The API function on moto: creation (idempotent), validation, progress, deletion."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.support.events import api_event
from tests.support.handlers import FakeContext, load_handler
from tests.integration.conftest import REGION
from tvreport import env_keys

# what a session created without a dataKey needs for its connectUrl
CONNECT_ENV = {env_keys.GANDALF_CONNECT_URL: "https://auth.gandalf.network", env_keys.GANDALF_PRIVATE_KEY: "01" * 32}


@pytest.fixture
def api(moto_tables, function_env):
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="activities")["QueueUrl"]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="uploads")
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queue_url, env_keys.UPLOADS_BUCKET: "uploads",
                  **CONNECT_ENV})
    module = load_handler("api")

    def call(method, path, body=None):
        response = module.handler(api_event(method, path, body), FakeContext())
        return response["statusCode"], json.loads(response["body"] or "null")

    call.queue_url = queue_url
    return call


def queued(queue_url: str) -> list[dict]:
    got = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_a_session_waits_for_its_data_key_then_starts(api):
    status, created = api("POST", "/sessions", {})
    assert status == 201 and created["state"] == "AWAITING_CONNECTION"
    sid = created["sessionId"]
    status, connected = api("POST", f"/sessions/{sid}/connect", {"dataKey": "key-123"})
    assert status == 200 and connected["state"] == "CRUNCHING_DATA"
    assert queued(api.queue_url) == [{"session_id": sid, "source": "gandalf", "data_key": "key-123",
                                      "upload_key": None, "next_page": 1, "date_format": None}]
    status, again = api("POST", f"/sessions/{sid}/connect", {"dataKey": "key-123"})
    assert status == 409 and "not awaiting" in again["message"]
    status, doc = api("GET", f"/sessions/{sid}")
    assert status == 200 and doc["stages"]["queryActivities"]["percent"] == 0
    assert "key-123" not in json.dumps(doc)  # the dataKey is never returned


def test_a_client_token_makes_creation_idempotent(api):
    first = api("POST", "/sessions", {"dataKey": "k", "clientToken": "retry-1"})
    second = api("POST", "/sessions", {"dataKey": "k", "clientToken": "retry-1"})
    assert (first[0], second[0]) == (201, 200)
    assert first[1]["sessionId"] == second[1]["sessionId"]
    assert len(queued(api.queue_url)) == 1  # started once


@pytest.mark.parametrize("body, status", [
    ({"dataKey": "secret-key-1", "netflixCsv": "Title,Date\n"}, 422),
    ({"dataKey": ""}, 422),
    ({"dataKey": 5}, 422),
    ({"unknown": 1}, 422),
    ({"netflixCsv": "not,a,netflix,export\n1,2,3,4"}, 400),
    ("{not json", 422),
])
def test_bad_bodies_get_clear_4xx(api, body, status):
    got_status, got = api("POST", "/sessions", body)
    assert got_status == status, got
    assert "secret-key-1" not in json.dumps(got)  # a rejected body never echoes the dataKey
    assert queued(api.queue_url) == []


def test_an_uploaded_export_starts_a_session(api, real_fixtures):
    csv_text = (real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv").read_text()
    status, created = api("POST", "/sessions", {"netflixCsv": csv_text})
    assert status == 201 and created["source"] == "netflix_csv"
    message = queued(api.queue_url)[0]
    assert message["upload_key"] == f"uploads/{created['sessionId']}.csv"
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket="uploads", Key=message["upload_key"])
    assert stored["Body"].read().decode() == csv_text


def test_unknown_sessions_and_unfinished_reports(api):
    assert api("GET", "/sessions/00000000-0000-4000-8000-000000000000")[0] == 404
    assert api("GET", "/sessions/not a valid id!")[0] == 422
    sid = api("POST", "/sessions", {})[1]["sessionId"]
    status, body = api("GET", f"/sessions/{sid}/report")
    assert status == 409 and "AWAITING_CONNECTION" in body["message"]
    status, deleted = api("DELETE", f"/sessions/{sid}")
    assert status == 200 and deleted["sessionItemsDeleted"] == 1
    assert api("GET", f"/sessions/{sid}")[0] == 404


def test_the_openapi_document_lists_every_route(api):
    status, document = api("GET", "/openapi.json")
    assert status == 200
    assert set(document["paths"]) >= {"/sessions", "/sessions/{session_id}", "/sessions/{session_id}/connect",
                                      "/sessions/{session_id}/report"}


def test_a_session_whose_start_cannot_be_queued_fails_instead_of_waiting(api, moto_tables):
    # Without a clientToken nobody can repeat the request, so the session fails at once
    # (with one, a replay re-sends the start: tests/integration/test_start_replay.py).
    boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=api.queue_url)  # the queue is gone
    status, body = api("POST", "/sessions", {"dataKey": "k"})
    assert status == 503 and "create a new one" in body["message"]
    items = boto3.resource("dynamodb", region_name=REGION).Table(moto_tables["sessions"]).scan()["Items"]
    assert [(i["state"], i["failure_reason"]) for i in items] == [("FAILED", "START_FAILED")]
