"""The deployed pipeline as an operator sees it: its resources, found by the
CloudFormation stack's outputs (see stacks/pipeline_stack.py `_outputs`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tvreport import aws
from tvreport.schema import STAGES, Stage

# Queue-fed stages by the name an operator types (the lambdas/ directory), with the
# stage their ledger items and DLQ records are kept under.
QUEUE_STAGES: dict[str, Stage] = {spec.folder: stage for stage, spec in STAGES.items()}


class StackNotFound(LookupError):
    pass


def _output_stem(directory: str) -> str:
    """`query_show_data` -> `QueryShowData`, as the stack names its outputs."""
    return "".join(part.capitalize() for part in directory.split("_"))


@dataclass(frozen=True)
class StageQueues:
    url: str
    dead_letter_url: str


@dataclass(frozen=True)
class Pipeline:
    stack_name: str
    sessions_table: str
    viewing_table: str
    chunk_size: int
    queues: dict[str, StageQueues]  # by QUEUE_STAGES key

    @classmethod
    def from_outputs(cls, stack_name: str, outputs: dict[str, str]) -> Pipeline:
        missing = [key for key in ("SessionsTableName", "ViewingTableName", "ChunkSize") if key not in outputs]
        queues = {}
        for directory in QUEUE_STAGES:
            stem = _output_stem(directory)
            keys = (f"{stem}QueueUrl", f"{stem}DeadLetterQueueUrl")
            missing += [key for key in keys if key not in outputs]
            if not missing:
                queues[directory] = StageQueues(outputs[keys[0]], outputs[keys[1]])
        if missing:
            raise StackNotFound(f"stack {stack_name} lacks the outputs {missing} (deployed before `ops` existed?)")
        return cls(stack_name, outputs["SessionsTableName"], outputs["ViewingTableName"],
                   int(outputs["ChunkSize"]), queues)


def load(stack_name: str) -> Pipeline:
    try:
        stacks = aws.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError":  # AWS's answer for "does not exist"
            raise StackNotFound(f"no stack named {stack_name}") from error
        raise
    outputs: dict[str, Any] = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Pipeline.from_outputs(stack_name, outputs)
