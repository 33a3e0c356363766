"""Each function cold-starts with only the packages its layers carry.

The dependency layers are split by need (stacks/layers.py): on AWS a function whose
code reaches for a package its layers do not hold fails at cold start with an
ImportError, while every test here passes, because this venv holds every package.
So each handler is imported in a fresh interpreter, with its template environment,
and the packages of the layers it is not given are made unimportable."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distribution

import pytest

from stacks.constructs.pipeline_function import sdk_traced
from stacks.layers import DEPENDENCIES_DIR, DEPENDENCY_LAYERS, LAYERS_BY_FUNCTION, PROJECT_ROOT
from tests.infrastructure.template_queries import TemplateQueries
from tests.infrastructure.test_functions import _pins
from tests.infrastructure.test_settings_contract import FUNCTIONS, OUR_KEYS, _render
from tvreport import env_keys

# Imports the handler with `blocked` top-level packages unimportable; prints what was refused.
_PROBE = """
import importlib.abc, json, sys
blocked, refused = set(json.loads(sys.argv[1])), []
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            refused.append(name)
            raise ImportError(f"{name} is not in this function's layers")
        return None
sys.meta_path.insert(0, Refuse())
sys.path[:0] = [sys.argv[2], sys.argv[3]]
try:
    import handler
finally:
    print(json.dumps(sorted(set(refused))))
print(json.dumps(sorted(name for name in sys.modules if name.partition(".")[0] in json.loads(sys.argv[4]))))
"""
# Modules whose presence after the cold start the tests below check.
_WATCHED = ("aws_xray_sdk", "aws_lambda_powertools", "pydantic")
# Powertools' parser models: loaded when its batch module is imported after pydantic
# (tvreport.batch_handler's docstring); no handler parses with them.
_PARSER = "aws_lambda_powertools.utilities.parser"


def _top_level_modules(layer: str) -> set[str]:
    """The import names of the packages a dependency layer pins (not their own deps:
    a layer-less function must not reach a layer's packages directly)."""
    names: set[str] = set()
    for pinned in _pins(DEPENDENCIES_DIR / layer / "requirements.txt"):
        package = pinned.split("[")[0]
        top_level = distribution(package).read_text("top_level.txt")
        names |= set(top_level.split()) if top_level else {package.replace("-", "_")}
    return names


def _blocked_for(directory: str) -> set[str]:
    carried = set().union(*(_top_level_modules(layer) for layer in LAYERS_BY_FUNCTION[directory]))
    others = set().union(*(_top_level_modules(layer) for layer in DEPENDENCY_LAYERS))
    return others - carried


def test_the_probe_refuses_a_package_outside_the_layers() -> None:
    """The check can fail: the AI stage, denied the AI layer, cannot start."""
    assert "openai" in _top_level_modules("ai")
    done = _cold_start("tv_bff", {"openai"}, {})
    assert done.returncode != 0 and "openai" in json.loads(done.stdout.splitlines()[0])


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_a_function_starts_with_only_its_layers_packages(directory: str, queries: TemplateQueries) -> None:
    environment = {key: _render(value) for key, value in queries.environment(directory).items()}
    blocked = _blocked_for(directory)
    done = _cold_start(directory, blocked, environment)
    refused = json.loads(done.stdout.splitlines()[0]) if done.stdout.strip() else []
    assert not refused, f"{directory} imports {refused}, which its layers do not carry"
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_a_function_loads_the_x_ray_sdk_only_where_the_stack_traces_it(
    directory: str, queries: TemplateQueries
) -> None:
    """The stack decides per function (pipeline_function.sdk_traced); the cold start
    with the template's environment follows it, both ways."""
    environment = {key: _render(value) for key, value in queries.environment(directory).items()}
    loaded = _loaded_modules(directory, environment)
    assert any(name.startswith("aws_xray_sdk") for name in loaded) is sdk_traced(directory)
    assert environment[env_keys.POWERTOOLS_TRACE_DISABLED] == ("false" if sdk_traced(directory) else "true")


def test_the_small_functions_do_without_the_x_ray_sdk() -> None:
    """The choice as the architecture states it (docs/architecture.md, Tracing)."""
    assert {directory for directory in FUNCTIONS if not sdk_traced(directory)} == {
        "api", "dead_letters", "progress_tracker", "watchdog"}


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_no_function_builds_powertools_parser_models(directory: str, queries: TemplateQueries) -> None:
    environment = {key: _render(value) for key, value in queries.environment(directory).items()}
    loaded = _loaded_modules(directory, environment)
    assert "pydantic" in loaded  # the settings; the check below is about order, not absence
    assert not [name for name in loaded if name.startswith(_PARSER)], (
        f"{directory} imports Powertools' batch module after pydantic")


def test_the_parser_check_can_fail() -> None:
    """Importing pydantic first (as every handler did before it imported EventType)
    loads the parser models."""
    probe = ("import json, sys; import pydantic; import aws_lambda_powertools.utilities.batch; "
             f"print(json.dumps({_PARSER!r} in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) is True


def _loaded_modules(directory: str, environment: dict[str, str]) -> list[str]:
    done = _cold_start(directory, _blocked_for(directory), environment)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[1])


def _cold_start(directory: str, blocked: set[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in OUR_KEYS}
    env.update(environment)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["LAMBDA_TASK_ROOT"] = str(PROJECT_ROOT / "lambdas" / directory)  # as on Lambda: tracing may be on
    env.pop("PYTHONPATH", None)  # only the function's code and the shared layer, as on Lambda
    return subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(sorted(blocked)), str(PROJECT_ROOT / "lambdas" / directory),
         str(PROJECT_ROOT / "layers" / "shared" / "python"), json.dumps(_WATCHED)],
        capture_output=True, text=True, timeout=120, env=env, check=False)
