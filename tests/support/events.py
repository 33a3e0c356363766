"""Builders of real Lambda event shapes, in one place."""
from __future__ import annotations

import json
import uuid
from typing import Any


def api_event(method: str, path: str, body: Any = None, resource: str | None = None,
              path_parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event."""
    return {
        "resource": resource or path, "path": path, "httpMethod": method,
        "headers": {"Content-Type": "application/json", "Host": "api.example.com"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "Host": ["api.example.com"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "prod", "resourcePath": resource or path,
                           "httpMethod": method, "path": f"/prod{path}", "accountId": "123456789012",
                           "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"}},
        "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        "isBase64Encoded": False,
    }


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:q") -> dict[str, Any]:
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": f"rh-{i}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1700000000000"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1"} for i, body in enumerate(bodies)]}


def stream_event(new_images: list[dict[str, Any]],
                 stream_arn: str = "arn:aws:dynamodb:us-east-1:123456789012:table/sessions/stream/2026-01-01T00:00:00.000"
                 ) -> dict[str, Any]:
    """A DynamoDB Streams batch of MODIFY records (NEW_AND_OLD_IMAGES), images in DynamoDB JSON."""
    return {"Records": [{
        "eventID": uuid.uuid4().hex, "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": stream_arn,
        "dynamodb": {"ApproximateCreationDateTime": 1700000000, "Keys": {"pk": image["pk"], "sk": image["sk"]},
                     "NewImage": image, "OldImage": image, "SequenceNumber": str(100 + i), "SizeBytes": 100,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"}} for i, image in enumerate(new_images)]}
