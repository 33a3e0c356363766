"""What the shared tracer may put into X-Ray (kept 30 days, out of DELETE's reach), and
where it loads the X-Ray SDK at all."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tvreport import observability
from tvreport.observability import Untraced, tracing_enabled

LAYER = Path(observability.__file__).resolve().parents[1]


def test_only_aws_sdk_calls_are_traced_not_http_paths_that_name_shows() -> None:
    # httpx subsegments keep each request's path (Rotten Tomatoes: /tv/<title slug>).
    assert observability.TRACED_MODULES == ("botocore",)
    traced = _modules_after_import({"LAMBDA_TASK_ROOT": "/tmp", "POWERTOOLS_TRACE_DISABLED": "false"})
    assert traced["patched"] == ["botocore"]


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({}, False),  # outside Lambda Powertools disables tracing too
    ],
)
def test_tracing_is_on_only_in_lambda_unless_disabled(environ: dict[str, str], enabled: bool) -> None:
    assert tracing_enabled(environ) is enabled


def test_untraced_decorators_return_the_function_itself() -> None:
    untraced = Untraced()

    def handler(event: dict, context: object) -> str:
        return "done"

    assert untraced.capture_lambda_handler(capture_response=False, capture_error=False)(handler) is handler
    assert untraced.capture_method(handler) is handler
    assert untraced.capture_method(capture_response=False)(handler) is handler
    assert untraced.put_annotation("record_error", "ValueError") is None


def _modules_after_import(environ: dict[str, str]) -> dict[str, object]:
    probe = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from tvreport import observability; "
        "from aws_lambda_powertools import Tracer; "
        "print(json.dumps({'sdk': 'aws_xray_sdk' in sys.modules, 'tracer': type(observability.tracer).__name__, "
        "'patched': list(Tracer._config['patch_modules'] or ())}))"
    )
    env = {"AWS_DEFAULT_REGION": "us-east-1", **environ}
    done = subprocess.run([sys.executable, "-c", probe, str(LAYER)], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_x_ray_sdk_is_loaded_only_where_tracing_is_on() -> None:
    assert _modules_after_import({"LAMBDA_TASK_ROOT": "/tmp", "POWERTOOLS_TRACE_DISABLED": "true"}) == {
        "sdk": False, "tracer": "Untraced", "patched": []}
    assert _modules_after_import({"LAMBDA_TASK_ROOT": "/tmp", "POWERTOOLS_TRACE_DISABLED": "false"}) == {
        "sdk": True, "tracer": "Tracer", "patched": ["botocore"]}
