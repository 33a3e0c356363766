"""Cold start: each handler module's import time in a fresh interpreter, with its
function's environment and Lambda's sys.path (code, then layers), median of N runs;
beside the floor `import boto3` + Powertools' Logger measured the same way.

The dependency layers are not bundled locally, so their packages come from this
interpreter, which has more: the dev tools, and optional extras a layer does not
ship (httpx imports its CLI's rich, click and Pygments when they are installed). The
child refuses every installed package outside the function's layers' requirements
(and what they require) and the runtime's boto3, as Lambda's sys.path would."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import statistics
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from local.deploy import DeployedFunction
from local.workers import WorkerSpec

FLOOR_MODULES = ("boto3", "aws_lambda_powertools.logging")
RUNTIME_REQUIREMENTS = ("boto3",)  # Lambda's Python runtime ships boto3 (and what it requires)
_CHILD = """
import importlib, json, sys, time
paths, modules, blocked = json.loads(sys.argv[1])
blocked = set(blocked)

class NotInLayers:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInLayers())
sys.path[:0] = paths
started = time.perf_counter()
for module in modules:
    importlib.import_module(module)
print(time.perf_counter() - started)
"""


def shipped_distributions(requirement_files: Iterable[Path]) -> set[str]:
    """Canonical names of the distributions a function has on Lambda: its layers'
    requirements, the runtime's boto3, and everything those require (with the extras
    asked for, under this interpreter's markers)."""
    todo = [Requirement(name) for name in RUNTIME_REQUIREMENTS]
    for path in requirement_files:
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                todo.append(Requirement(line))
    names: set[str] = set()
    visited: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in visited:
            continue
        visited.add(key)
        names.add(key[0])
        try:
            requires = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for raw in requires:
            nested = Requirement(raw)
            extras = ("", *requirement.extras)
            if nested.marker is None or any(nested.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(nested)
    return names


def unshipped_modules(requirement_files: Iterable[Path]) -> list[str]:
    """Top-level modules installed here by distributions the function does not ship."""
    shipped = shipped_distributions(requirement_files)
    return sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if not any(canonicalize_name(name) in shipped for name in distributions)
    )


def _import_once(paths: list[str], modules: Iterable[str], env: dict[str, str], blocked: list[str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([paths, list(modules), blocked])],
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
    floor_blocked: list[str] = []
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
        blocked = unshipped_modules(function.layer_requirements)
        figures[name] = round(
            statistics.median(_import_once(paths, [module], env, blocked) for _ in range(runs)), 4
        )
        floor_paths = list(spec.layer_dirs)
        floor_blocked = floor_blocked or blocked
    if floor_env:
        figures = {
            "floor": round(
                statistics.median(
                    _import_once(floor_paths, FLOOR_MODULES, floor_env, floor_blocked) for _ in range(runs)
                ),
                4,
            ),
            **figures,
        }
    return figures


def stage_name(function: DeployedFunction) -> str:
    """The construct id under the stack ("QueryShowData"), which names the stage."""
    parts = function.construct_path.split("/")
    return parts[1] if len(parts) > 1 else function.logical_id
