"""Cold start: each handler module's import time in a fresh interpreter, with its
function's environment and Lambda's sys.path (code, then layers), median of N runs;
beside the floor `import boto3` + Powertools' Logger measured the same way."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Iterable

from local.deploy import DeployedFunction
from local.workers import WorkerSpec

FLOOR_MODULES = ("boto3", "aws_lambda_powertools.logging")
_CHILD = """
import importlib, json, sys, time
paths, modules = json.loads(sys.argv[1])
sys.path[:0] = paths
started = time.perf_counter()
for module in modules:
    importlib.import_module(module)
print(time.perf_counter() - started)
"""


def _import_once(paths: list[str], modules: Iterable[str], env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([paths, list(modules)])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"import of {list(modules)} failed: {done.stderr.strip()[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


def import_times(
    functions: Iterable[DeployedFunction], base_env: dict[str, str], runs: int, log_dir
) -> dict[str, float]:
    """{"floor": s, "<stage dir>": s}: medians over `runs` fresh interpreters."""
    figures: dict[str, float] = {}
    floor_env: dict[str, str] = {}
    for function in functions:
        spec = WorkerSpec.for_function(function, base_env, log_dir)
        env = dict(spec.environment)
        env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        # Tracing as the template sets it (the workers turn it off: no X-Ray daemon here), so
        # the functions that keep the X-Ray SDK on AWS pay for it here too (import only).
        env["POWERTOOLS_TRACE_DISABLED"] = function.environment.get("POWERTOOLS_TRACE_DISABLED", "false")
        floor_env = floor_env or env
        paths = [spec.code_dir, *spec.layer_dirs]
        module = spec.handler.rsplit(".", 1)[0].replace("/", ".")
        name = stage_name(function)
        figures[name] = round(statistics.median(_import_once(paths, [module], env) for _ in range(runs)), 4)
        floor_paths = list(spec.layer_dirs)
    if floor_env:
        figures = {
            "floor": round(
                statistics.median(_import_once(floor_paths, FLOOR_MODULES, floor_env) for _ in range(runs)), 4
            ),
            **figures,
        }
    return figures


def stage_name(function: DeployedFunction) -> str:
    """The construct id under the stack ("QueryShowData"), which names the stage."""
    parts = function.construct_path.split("/")
    return parts[1] if len(parts) > 1 else function.logical_id
