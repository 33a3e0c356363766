"""Reading what a stage sent (every message of a queue, received and deleted), and the
follow-up stages' queues the tracker and the watchdog are given."""
from __future__ import annotations

import json
from collections.abc import Mapping

import boto3

from tvreport.schema import FOLLOW_UPS, STAGES, Stage

REGION = "us-east-1"  # moto's region in the integration tier (tests/integration/conftest.py)


def drain(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def follow_up_queues(given: Mapping[Stage, str] | None = None) -> dict[Stage, str]:
    """A queue URL per follow-up stage of the registry (tvreport.schema): those given,
    and a fresh queue for every other one, so a stage added there needs no edit here."""
    sqs = boto3.client("sqs", region_name=REGION)
    given = given or {}
    return {spec.stage: given.get(spec.stage) or sqs.create_queue(QueueName=spec.stage.value)["QueueUrl"]
            for spec in FOLLOW_UPS}


def follow_up_environment(given: Mapping[Stage, str] | None = None) -> dict[str, str]:
    """The follow-up queue variables of the tracker's and the watchdog's settings."""
    return {STAGES[stage].queue_url_key: url for stage, url in follow_up_queues(given).items()}
