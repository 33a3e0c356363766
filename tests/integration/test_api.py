"""The API function on moto: creation (idempotent), validation, progress, deletion."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import REGION
from tests.support.events import api_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.iam_calls import granted_only
from tvreport import env_keys

# what a session created without a dataKey needs for its connectUrl
CONNECT_ENV = {env_keys.GANDALF_CONNECT_URL: "https://auth.gandalf.network", env_keys.GANDALF_PRIVATE_KEY: "01" * 32}


@pytest.fixture
def api(moto_tables, function_env, cdk_template):
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="activities")["QueueUrl"]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="uploads")
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queue_url, env_keys.UPLOADS_BUCKET: "uploads",
                  env_keys.API_ALLOWED_ORIGINS: "", **CONNECT_ENV})
    handler = granted_only("api", load_handler("api").handler, cdk_template, moto_tables)

    def call(method, path, body=None):
        response = handler(api_event(method, path, body), FakeContext())
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
    first = api("POST", "/sessions", {"dataKey": "k", "clientToken": "retry-0000000001"})
    second = api("POST", "/sessions", {"dataKey": "k", "clientToken": "retry-0000000001"})
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


def test_a_client_token_is_bound_to_its_request(api):
    token = "3f0c9a52-0b4e-4c1e-9a8e-2d7d2b1f6c11"
    status, first = api("POST", "/sessions", {"dataKey": "key-a", "clientToken": token})
    assert status == 201
    status, other = api("POST", "/sessions", {"dataKey": "key-b", "clientToken": token})
    assert status == 409 and "another request" in other["message"] and "key-" not in json.dumps(other)
    status, replay = api("POST", "/sessions", {"dataKey": "key-a", "clientToken": token})
    assert (status, replay["sessionId"]) == (200, first["sessionId"])
    token_item = boto3.resource("dynamodb", region_name=REGION).Table(
        _sessions_table()).get_item(Key={"pk": f"TOKEN#{token}", "sk": "TOKEN"})["Item"]
    assert len(token_item["request_digest"]) == 64 and "key-a" not in json.dumps(token_item, default=str)
    assert len(queued(api.queue_url)) == 1


def _sessions_table() -> str:
    import os
    return os.environ[env_keys.SESSIONS_TABLE]


@pytest.mark.parametrize("token", ["short", "x" * 129, "has space in it 123"])
def test_a_client_token_too_short_or_malformed_is_a_422_that_says_the_rule(api, token):
    status, body = api("POST", "/sessions", {"clientToken": token})
    assert status == 422
    assert body["errors"][0]["field"] == "body.clientToken" and "{16,128}" in body["errors"][0]["message"]


def test_an_oversized_data_key_is_a_422_not_a_503(api):
    status, body = api("POST", "/sessions", {"dataKey": "k" * 300_000})
    assert status == 422 and "longer than 2048 characters" in body["message"]
    assert "kkkk" not in json.dumps(body)
    status, _ = api("POST", "/sessions", {"dataKey": "k" * 2048})
    assert status == 201


def test_an_inline_body_is_counted_in_bytes_and_refused_past_the_limit_with_413(api, real_fixtures):
    from tvreport.api_models import MAX_INLINE_BODY_BYTES

    csv_text = (real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv").read_text()
    # Multi-byte characters: fewer characters than the limit, more bytes than it.
    padded = csv_text + "\u00e9" * (MAX_INLINE_BODY_BYTES // 2 + 1)
    sent = json.dumps({"netflixCsv": padded}, ensure_ascii=False)
    assert len(sent) < MAX_INLINE_BODY_BYTES < len(sent.encode("utf-8"))
    status, body = api("POST", "/sessions", sent)
    assert status == 413 and "POST /uploads" in body["message"] and str(MAX_INLINE_BODY_BYTES) in body["message"]
    seven_mb = "x" * 7_000_000
    status, body = api("POST", "/sessions", {"netflixCsv": seven_mb})
    assert status == 413
    status, body = api("POST", "/sessions", json.dumps({"netflixCsv": seven_mb, "bogus": 1}))
    assert status == 413  # too large is said first, whatever else is wrong
    assert queued(api.queue_url) == []


def test_errors_have_one_shape_with_per_field_details(api):
    status, body = api("POST", "/sessions", {"dataKey": 5, "unknown": 1})
    assert status == 422 and body["message"].startswith("the request is not valid")
    assert {e["field"] for e in body["errors"]} == {"body.dataKey", "body.unknown"}
    status, body = api("GET", "/nowhere")
    assert status == 404 and body == {"message": "no route GET /nowhere"}
    status, body = api("POST", "/sessions", {"uploadId": "00000000-0000-4000-8000-000000000000"})
    assert status == 404 and "POST /uploads" in body["message"]


def test_a_presigned_upload_starts_a_session_and_is_moved_to_the_session(api, real_fixtures):
    csv_bytes = (real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv").read_bytes()
    status, ticket = api("POST", "/uploads")
    assert status == 201 and ticket["maxBytes"] == 50 * 1024 * 1024 and ticket["expiresInSeconds"] == 900
    key = ticket["fields"]["key"]
    assert key == f"uploads/incoming/{ticket['uploadId']}.csv" and ticket["fields"]["Content-Type"] == "text/csv"
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket="uploads", Key=key, Body=csv_bytes, ContentType="text/csv")  # as the POST would
    status, created = api("POST", "/sessions", {"uploadId": ticket["uploadId"]})
    assert status == 201 and (created["source"], created["state"]) == ("netflix_csv", "CRUNCHING_DATA")
    [message] = queued(api.queue_url)
    assert message["upload_key"] == f"uploads/{created['sessionId']}.csv"
    assert s3.get_object(Bucket="uploads", Key=message["upload_key"])["Body"].read() == csv_bytes
    assert "Contents" not in s3.list_objects_v2(Bucket="uploads", Prefix="uploads/incoming/")
    status, again = api("POST", "/sessions", {"uploadId": ticket["uploadId"]})
    assert status == 404  # an upload starts one session


def test_an_upload_id_never_reaches_another_sessions_export(api, real_fixtures):
    csv_text = (real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv").read_text()
    victim = api("POST", "/sessions", {"netflixCsv": csv_text})[1]["sessionId"]
    status, _ = api("POST", "/sessions", {"uploadId": victim})
    assert status == 404


def test_cancel_ends_a_session_failed_cancelled_once(api):
    sid = api("POST", "/sessions", {"dataKey": "k"})[1]["sessionId"]
    status, doc = api("POST", f"/sessions/{sid}/cancel")
    assert status == 200 and (doc["state"], doc["failureReason"]) == ("FAILED", "CANCELLED")
    status, body = api("POST", f"/sessions/{sid}/cancel")
    assert status == 409 and "already ended (FAILED)" in body["message"]
    waiting = api("POST", "/sessions", {})[1]["sessionId"]
    assert api("POST", f"/sessions/{waiting}/cancel")[1]["failureReason"] == "CANCELLED"
    assert api("POST", f"/sessions/{waiting}/connect", {"dataKey": "k"})[0] == 409
    assert api("POST", "/sessions/00000000-0000-4000-8000-000000000000/cancel")[0] == 404


def test_every_route_documents_every_status_it_answers_with_one_error_shape(api):
    status, document = api("GET", "/openapi.json")
    operations = {(method.upper(), path): op for path, item in document["paths"].items() for method, op in item.items()}
    expected = {
        ("POST", "/sessions"): {"200", "201", "400", "404", "409", "413", "422", "503"},
        ("POST", "/uploads"): {"201", "422"},
        ("POST", "/sessions/{session_id}/connect"): {"200", "404", "409", "422", "503"},
        ("POST", "/sessions/{session_id}/cancel"): {"200", "404", "409", "422"},
        ("GET", "/sessions/{session_id}"): {"200", "404", "422"},
        ("GET", "/sessions/{session_id}/report"): {"200", "404", "409", "422"},
        ("DELETE", "/sessions/{session_id}"): {"200", "404", "422"},
    }
    for key, codes in expected.items():
        assert set(operations[key]["responses"]) == codes, key
        for code in codes - {"200", "201"}:
            schema = operations[key]["responses"][code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (key, code)
    assert document["components"]["schemas"]["SessionDocument"]["properties"]["state"]


def test_swagger_ui_is_served_at_docs(api, monkeypatch):
    from tests.support.events import api_event
    from tests.support.handlers import FakeContext, load_handler

    response = load_handler("api").handler(api_event("GET", "/docs"), FakeContext())
    assert response["statusCode"] == 200 and "swagger" in response["body"].lower()


def test_a_body_that_is_not_utf8_is_a_422(api):
    import base64

    from tests.support.events import api_event
    from tests.support.handlers import FakeContext, load_handler

    event = api_event("POST", "/sessions")
    event["body"], event["isBase64Encoded"] = base64.b64encode(b"\xff\x08\xfe\xfe").decode(), True
    response = load_handler("api").handler(event, FakeContext())
    assert response["statusCode"] == 422 and "UTF-8" in json.loads(response["body"])["message"]


def test_cors_headers_for_the_configured_origins_only(api, monkeypatch):
    from tests.support.events import api_event
    from tests.support.handlers import FakeContext, load_handler

    monkeypatch.setenv(env_keys.API_ALLOWED_ORIGINS, "https://app.example.com,http://localhost:5173")
    module = load_handler("api")

    def get(origin):
        event = api_event("GET", "/sessions/00000000-0000-4000-8000-000000000000")
        event["headers"]["Origin"], event["multiValueHeaders"]["Origin"] = origin, [origin]
        response = module.handler(event, FakeContext())
        headers = {**(response.get("headers") or {}),
                   **{k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}}
        return response["statusCode"], headers.get("Access-Control-Allow-Origin")

    assert get("http://localhost:5173") == (404, "http://localhost:5173")
    assert get("https://evil.example.com") == (404, None)


def test_a_replayed_upload_create_returns_the_first_session(api, real_fixtures):
    csv_bytes = (real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv").read_bytes()
    ticket = api("POST", "/uploads")[1]
    boto3.client("s3", region_name=REGION).put_object(Bucket="uploads", Key=ticket["fields"]["key"], Body=csv_bytes)
    body = {"uploadId": ticket["uploadId"], "clientToken": "upload-retry-000001"}
    first, again = api("POST", "/sessions", body), api("POST", "/sessions", body)
    assert (first[0], again[0]) == (201, 200) and first[1]["sessionId"] == again[1]["sessionId"]
    assert len(queued(api.queue_url)) == 1
