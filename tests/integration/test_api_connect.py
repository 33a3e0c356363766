"""The Gandalf Connect flow through the API function on moto: the create answer's
connectUrl, the callback that starts the session once and redirects, the web page."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import REGION
from tests.integration.test_api import CONNECT_ENV, queued
from tests.support.connect_urls import decode_connect_url
from tests.support.events import api_event
from tests.support.handlers import FakeContext, load_handler
from tvreport import env_keys
from tvreport.connect import public_key_hex


@pytest.fixture
def api(moto_tables, function_env):
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="activities")["QueueUrl"]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="uploads")
    function_env({env_keys.QUERY_ACTIVITIES_QUEUE_URL: queue_url, env_keys.UPLOADS_BUCKET: "uploads", **CONNECT_ENV})
    module = load_handler("api")

    def call(method, path, body=None, query=None, resource=None, path_parameters=None):
        event = api_event(method, path, body, resource=resource, path_parameters=path_parameters)
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
        return module.handler(event, FakeContext())

    call.queue_url = queue_url
    return call


def callback(api, session_id, query):
    return api("GET", f"/sessions/{session_id}/callback", query=query, resource="/sessions/{id}/callback",
               path_parameters={"id": session_id})


def test_a_session_without_a_data_key_answers_with_its_connect_url(api):
    response = api("POST", "/sessions", {})
    created = json.loads(response["body"])

    assert response["statusCode"] == 201 and created["state"] == "AWAITING_CONNECTION"
    url = created["connectUrl"]
    assert url.startswith("https://auth.gandalf.network?")
    assert decode_connect_url(url) == {
        "publicKey": public_key_hex(CONNECT_ENV[env_keys.GANDALF_PRIVATE_KEY]),
        # the event's Host and the stage prefix it was called under
        "redirectUrl": f"https://api.example.com/prod/sessions/{created['sessionId']}/callback",
        "services": {"netflix": {"activities": ["watch"]}},
    }


def test_a_session_started_with_a_data_key_has_no_connect_url(api):
    created = json.loads(api("POST", "/sessions", {"dataKey": "k-1"})["body"])
    assert created["state"] == "CRUNCHING_DATA" and "connectUrl" not in created


def test_the_callback_starts_the_session_once_and_redirects_to_its_page(api, capsys):
    sid = json.loads(api("POST", "/sessions", {})["body"])["sessionId"]

    first = callback(api, sid, {"dataKey": "linked-key-42"})
    replay = callback(api, sid, {"dataKey": "linked-key-42"})

    for response in (first, replay):
        assert response["statusCode"] == 302
        assert response["multiValueHeaders"]["Location"] == [f"https://api.example.com/prod/?session={sid}"]
    messages = queued(api.queue_url)
    assert [m["data_key"] for m in messages] == ["linked-key-42"]  # sent once, the replay sent nothing
    session = json.loads(api("GET", f"/sessions/{sid}", resource="/sessions/{id}",
                             path_parameters={"id": sid})["body"])
    assert session["state"] == "CRUNCHING_DATA" and session["source"] == "gandalf"
    assert "linked-key-42" not in capsys.readouterr().out  # never logged


def test_a_return_without_a_data_key_leaves_the_session_waiting(api):
    sid = json.loads(api("POST", "/sessions", {})["body"])["sessionId"]

    response = callback(api, sid, None)

    assert response["statusCode"] == 302
    assert queued(api.queue_url) == []
    session = json.loads(api("GET", f"/sessions/{sid}", resource="/sessions/{id}", path_parameters={"id": sid})["body"])
    assert session["state"] == "AWAITING_CONNECTION"


def test_the_callback_of_an_unknown_session_is_404(api):
    response = callback(api, "0000-dead", {"dataKey": "k"})
    assert response["statusCode"] == 404
    assert queued(api.queue_url) == []


def test_the_web_page_is_served_as_html(api):
    response = api("GET", "/", resource="/")

    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert "<!doctype html>" in response["body"].lower()


def test_the_openapi_document_describes_the_page_and_the_callback(api):
    document = json.loads(api("GET", "/openapi.json")["body"])

    callback_get = document["paths"]["/sessions/{session_id}/callback"]["get"]
    assert "302" in callback_get["responses"]
    assert [p["name"] for p in callback_get["parameters"] if p["in"] == "query"] == ["dataKey"]
    assert "text/html" in document["paths"]["/"]["get"]["responses"]["200"]["content"]
