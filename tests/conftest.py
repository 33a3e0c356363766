"""Shared fixtures: the real fixtures' folder and the app synthesized ONCE per test
session (bundling skipped), for infrastructure and integration tests alike."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fixtures import REAL_FIXTURES, missing_message

# jsii prints a Node end-of-life banner on every start; this key (the Node major
# versions to stay quiet about) silences it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# What every deployed function has (CDK sets them); set before tvreport is imported,
# since Powertools reads them when the shared logger, tracer and metrics are made.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TvReportTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    """Metrics one test records must not be flushed by the next test's handler."""
    yield
    from tvreport.observability import metrics

    metrics.clear_metrics()


# Folders whose modules share one session's moto server (their conftest deploys once).
# moto keeps its state per process, and a `mock_aws` test elsewhere resets it on exit,
# so under xdist such a folder runs on one worker, its modules one after another.
SHARED_MOTO_FOLDERS = ("tests/integration/local", "tests/integration/ops")


@pytest.hookimpl(tryfirst=True)  # before xdist's worker suffixes the node ids with the group
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """xdist's --dist loadgroup unit: one module (its module fixtures, e.g. an e2e
    module's local system, start once), or one SHARED_MOTO_FOLDERS folder."""
    for item in items:
        module = item.path.relative_to(PROJECT_ROOT).as_posix()
        group = next((folder for folder in SHARED_MOTO_FOLDERS if module.startswith(folder + "/")), module)
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say at once where the real fixtures were looked for, instead of one
    FileNotFoundError per test that reads them."""
    problem = missing_message()
    if problem:
        raise pytest.UsageError(problem)


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    return REAL_FIXTURES


@dataclass(frozen=True)
class Synthesized:
    app: object  # aws_cdk.App
    stack: object  # stacks.pipeline_stack.PipelineStack
    template: object  # aws_cdk.assertions.Template
    queries: object  # tests.infrastructure.template_queries.TemplateQueries
    assembly_dir: Path
    seconds: float  # wall time of build + synth, this process


@pytest.fixture(scope="session")
def synthesized() -> Iterator[Synthesized]:
    from aws_cdk.assertions import Template

    from app import build_app, project_context
    from tests.infrastructure.template_queries import TemplateQueries

    started = time.perf_counter()
    app, stack = build_app(project_context(**SKIP_BUNDLING))
    assembly = app.synth()
    template = Template.from_stack(stack)
    seconds = time.perf_counter() - started
    yield Synthesized(app=app, stack=stack, template=template, queries=TemplateQueries(template.to_json()),
                      assembly_dir=Path(assembly.directory), seconds=seconds)


@pytest.fixture(scope="session")
def cdk_template(synthesized: Synthesized) -> dict:
    return synthesized.template.to_json()
