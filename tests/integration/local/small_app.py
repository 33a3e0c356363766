"""A small CDK app with every shape the pipeline stack uses (queue + DLQ +
function with an SQS event source, a table stream -> function with bisect,
retries and an on-failure queue, a schedule, a REST API, a layer), and the
tiny handlers it deploys. Handlers record each event they receive as a JSON
file under RECORD_DIR, and act on what the message body asks for."""
from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import (
    aws_apigateway as apigateway,
    aws_dynamodb as dynamodb,
    aws_events as events,
    aws_events_targets as targets,
    aws_lambda as lambda_,
    aws_lambda_event_sources as sources,
    aws_sqs as sqs,
)

STACK_NAME = "LocalRunnerSmall"
MAX_RECEIVE_COUNT = 2
SQS_TIMEOUT_S = 3

HELPER_LAYER_MODULE = '''
import glob, json, os, time, uuid

def record(name, event):
    path = os.path.join(os.environ["RECORD_DIR"], f"{name}-{time.time_ns()}-{uuid.uuid4().hex}.json")
    with open(path, "w") as out:
        json.dump(event, out)

def rendezvous(token, wait_s):
    """Leave a mark for `token`, then wait for another process's mark: True when
    another copy of this delivery is running at the same time."""
    mine = os.path.join(os.environ["RECORD_DIR"], f"rv-{token}-{os.getpid()}-{uuid.uuid4().hex}.json")
    open(mine, "w").close()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if set(glob.glob(os.path.join(os.environ["RECORD_DIR"], f"rv-{token}-*.json"))) - {mine}:
            record("race", {"token": token, "pid": os.getpid(), "saw_other": True})
            return True
        time.sleep(0.02)
    record("race", {"token": token, "pid": os.getpid(), "saw_other": False})
    return False
'''

QUEUE_HANDLER = '''
import json, os, time
from recorder import record, rendezvous  # from the layer (/opt/python)

def handler(event, context):
    record("queue", {"event": event, "remaining_ms": context.get_remaining_time_in_millis(),
                     "function_name": context.function_name, "request_id": context.aws_request_id})
    failures = []
    for message in event["Records"]:
        body = json.loads(message["body"])
        if body.get("rendezvous"):
            rendezvous(body["rendezvous"], wait_s=2)
        if body.get("sleep"):
            time.sleep(body["sleep"])
        if body.get("raise"):
            raise RuntimeError("asked to fail")
        if body.get("fail"):
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}
'''

STREAM_HANDLER = '''
from recorder import record, rendezvous

def handler(event, context):
    record("stream" if "Records" in event else "schedule", event)
    for item in event.get("Records", []):
        image = item["dynamodb"].get("NewImage", {})
        if "rendezvous" in image:
            rendezvous(image["rendezvous"]["S"], wait_s=3)
        if image.get("poison", {}).get("BOOL"):
            raise RuntimeError("poison record")
    return {"batchItemFailures": []}
'''

API_HANDLER = '''
import json
from recorder import record

def handler(event, context):
    record("api", event)
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": event["path"], "resource": event["resource"],
                                "params": event["pathParameters"]})}
'''


def write_handlers(root: Path) -> dict[str, Path]:
    """Handler and layer directories under `root`."""
    dirs = {name: root / name for name in ("queue_fn", "stream_fn", "api_fn", "layer")}
    for directory in dirs.values():
        directory.mkdir(parents=True, exist_ok=True)
    (dirs["queue_fn"] / "handler.py").write_text(QUEUE_HANDLER)
    (dirs["stream_fn"] / "handler.py").write_text(STREAM_HANDLER)
    (dirs["api_fn"] / "handler.py").write_text(API_HANDLER)
    (dirs["layer"] / "python").mkdir(exist_ok=True)
    (dirs["layer"] / "python" / "recorder.py").write_text(HELPER_LAYER_MODULE)
    return dirs


class SmallStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str, dirs: dict[str, Path], record_dir: Path) -> None:
        super().__init__(scope, construct_id)
        layer = lambda_.LayerVersion(self, "Helpers", code=lambda_.Code.from_asset(str(dirs["layer"])))
        env = {"RECORD_DIR": str(record_dir), "POWERTOOLS_METRICS_NAMESPACE": "Small"}

        def function(name: str, directory: str, timeout_s: int) -> lambda_.Function:
            return lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler="handler.handler",
                code=lambda_.Code.from_asset(str(dirs[directory])),
                timeout=cdk.Duration.seconds(timeout_s),
                memory_size=256,
                layers=[layer],
                environment=env,
            )

        dlq = sqs.Queue(self, "WorkDlq")
        queue = sqs.Queue(
            self,
            "Work",
            visibility_timeout=cdk.Duration.seconds(6 * SQS_TIMEOUT_S),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=MAX_RECEIVE_COUNT),
        )
        worker = function("QueueFn", "queue_fn", SQS_TIMEOUT_S)
        worker.add_event_source(
            sources.SqsEventSource(queue, batch_size=5, report_batch_item_failures=True, max_concurrency=2)
        )

        table = dynamodb.Table(
            self,
            "Items",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        stream_failures = sqs.Queue(self, "StreamFailures")
        consumer = function("StreamFn", "stream_fn", 5)
        consumer.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=10,
                bisect_batch_on_error=True,
                retry_attempts=1,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(stream_failures),
            )
        )
        events.Rule(self, "Tick", schedule=events.Schedule.rate(cdk.Duration.minutes(5))).add_target(
            targets.LambdaFunction(consumer)
        )

        api = apigateway.LambdaRestApi(self, "Api", handler=function("ApiFn", "api_fn", 5), proxy=False)
        sessions = api.root.add_resource("sessions")
        sessions.add_method("POST")
        one = sessions.add_resource("{id}")
        one.add_method("GET")
        one.add_method("DELETE")
        one.add_resource("report").add_method("GET")
        cdk.CfnOutput(self, "TableName", value=table.table_name)


def build(dirs: dict[str, Path], record_dir: Path):
    def add_stacks(app: cdk.App) -> None:
        SmallStack(app, STACK_NAME, dirs, record_dir)

    return add_stacks
