"""`ops redrive` on AWS starts an SQS message move task. moto 5.2.5 has none (it answers
500), so the request is checked here against botocore's own SQS model instead."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ops import queues
from tvreport import aws

DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/stage-dlq"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/stage"
DLQ_ARN = "arn:aws:sqs:eu-west-1:123456789012:stage-dlq"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:stage"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    for key, value in {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.reset()
    with Stubber(aws.client("sqs")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    aws.reset()


def test_a_move_task_goes_from_the_dlq_to_its_source_queue(sqs: Stubber) -> None:
    for url, arn in ((DLQ_URL, DLQ_ARN), (QUEUE_URL, QUEUE_ARN)):
        sqs.add_response("get_queue_attributes", {"Attributes": {"QueueArn": arn}},
                         {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
    sqs.add_response("start_message_move_task", {"TaskHandle": "task-1"},
                     {"SourceArn": DLQ_ARN, "DestinationArn": QUEUE_ARN})

    result = queues.start_move_task(DLQ_URL, QUEUE_URL)

    assert result == {"method": "move-task", "task_handle": "task-1", "source_arn": DLQ_ARN,
                      "destination_arn": QUEUE_ARN}


def test_a_refused_move_task_raises_the_error_sqs_gave(sqs: Stubber) -> None:
    for url, arn in ((DLQ_URL, DLQ_ARN), (QUEUE_URL, QUEUE_ARN)):
        sqs.add_response("get_queue_attributes", {"Attributes": {"QueueArn": arn}},
                         {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
    # SQS allows one active move task per source queue.
    sqs.add_client_error("start_message_move_task", service_error_code="AWS.SimpleQueueService.UnsupportedOperation",
                         service_message="There is already a task running", http_status_code=400)

    with pytest.raises(ClientError) as raised:
        queues.start_move_task(DLQ_URL, QUEUE_URL)
    assert raised.value.response["Error"]["Message"] == "There is already a task running"
