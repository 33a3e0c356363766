"""Every stage message names its session as MessageGroupId (SQS fair queues on the
standard stage queues: tvreport.publisher), sent for real to moto's queues."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import boto3

from tests.integration.conftest import REGION
from tests.integration.test_exactly_once import new_session, stream_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.queues import follow_up_environment
from tvreport import env_keys, publisher
from tvreport.messages import ActivitiesRequest, AiStageRequest, RtChunk, RtShowRef, ShowChunk, ShowRef, StageMessage
from tvreport.repositories.sessions import SessionRepository
from tvreport.schema import FOLLOW_UPS
from tvreport.session_model import Stage

ROOT = Path(__file__).resolve().parents[2]
SENDS = {"send_message", "send_message_batch"}


def _received(queue_url: str) -> list[tuple[str | None, dict]]:
    """(MessageGroupId, body) of every message of the queue, in the order moto returns them."""
    sqs = boto3.client("sqs", region_name=REGION)
    got = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", []):
        for message in batch:
            got.append((message.get("Attributes", {}).get("MessageGroupId"), json.loads(message["Body"])))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return got


def _messages(session_id: str) -> list[StageMessage]:
    """One of each queue's model for a session, a hand-off part of each chunk model included."""
    show = ShowRef(show_key="dark", title="Dark")
    rt_show = RtShowRef(show_key="dark", title="Dark", tmdb_id=70523)
    return [
        ActivitiesRequest(session_id=session_id, source="gandalf", data_key="k" * 16),
        ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key="uploads/x.csv", next_page=3),
        ShowChunk(session_id=session_id, chunk_id=0, shows=[show]),
        ShowChunk(session_id=session_id, chunk_id=1, shows=[show], part=1, carried=[rt_show]),
        RtChunk(session_id=session_id, chunk_id=0, shows=[rt_show]),
        RtChunk(session_id=session_id, chunk_id=1, shows=[rt_show], part=2, carried_scored=3),
        *(AiStageRequest(session_id=session_id, stage=spec.stage) for spec in FOLLOW_UPS),
    ]


def test_every_stage_message_carries_its_session_as_message_group(moto_tables) -> None:
    # Given a standard queue and two sessions' messages, more than one batch of ten
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="stage")["QueueUrl"]
    assert "FifoQueue" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sent = _messages("s-light") + _messages("s-heavy") * 2

    # When the publisher sends them
    publisher.send(url, sent)

    # Then each arrives with MessageGroupId = the session id its body names
    got = _received(url)
    assert len(got) == len(sent) > 10
    assert all(group == body["session_id"] for group, body in got)
    assert {group for group, _ in got} == {"s-light", "s-heavy"}


def test_the_tracker_sends_each_follow_up_with_its_session_as_message_group(moto_tables, function_env) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {stage: sqs.create_queue(QueueName=stage.value)["QueueUrl"] for stage in (Stage.TV_BFF, Stage.STAR_SIGN)}
    show_data = sqs.create_queue(QueueName="showdata")["QueueUrl"]
    function_env({**follow_up_environment(queues), env_keys.QUERY_SHOW_DATA_QUEUE_URL: show_data})
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    sid = new_session(repo)
    for chunk in (0, 1):
        repo.count_chunk(sid, Stage.QUERY_SHOW_DATA, chunk, shows_done=50, shows_failed=0)
        repo.count_chunk(sid, Stage.CRAWL_ROTTEN_TOMATOES, chunk, shows_done=50, shows_failed=0)

    assert load_handler("progress_tracker").handler(stream_event(moto_tables["sessions"]), FakeContext()) == {
        "batchItemFailures": []
    }

    for stage, url in queues.items():
        assert _received(url) == [(sid, {"session_id": sid, "stage": stage.value})]


def test_only_the_publisher_sends_to_the_stage_queues() -> None:
    """Every stage message goes through tvreport.publisher (so it carries its group):
    no other module of the layer or the handlers calls SendMessage(Batch)."""
    sources = [*(ROOT / "layers" / "shared" / "python" / "tvreport").rglob("*.py"), *(ROOT / "lambdas").rglob("*.py")]
    callers = {
        path.relative_to(ROOT).as_posix()
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in SENDS
    }
    assert callers == {"layers/shared/python/tvreport/publisher.py"}
