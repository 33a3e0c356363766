"""Reading what a stage sent: every message of a queue, received and deleted."""
from __future__ import annotations

import json

import boto3

REGION = "us-east-1"  # moto's region in the integration tier (tests/integration/conftest.py)


def drain(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies
