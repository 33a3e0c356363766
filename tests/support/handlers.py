"""Import a Lambda handler from its source folder, as Lambda would (a fresh module
per call, so each test gets a cold start with its own environment)."""
from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from types import ModuleType

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def load_handler(directory: str) -> ModuleType:
    path = LAMBDAS / directory / "handler.py"
    spec = importlib.util.spec_from_file_location(f"handler_{directory}_{uuid.uuid4().hex}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "stream"

    def __init__(self, remaining_ms: int = 60_000):
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining
