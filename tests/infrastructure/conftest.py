"""The app synthesized once per test session, in process, with bundling skipped."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# jsii prints a Node end-of-life banner on every start; this jsii reads this key
# (its value lists the Node major versions to stay quiet about).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from app import build_app, project_context  # noqa: E402
from stacks.config import PipelineConfig  # noqa: E402
from stacks.pipeline_stack import PipelineStack  # noqa: E402
from tests.infrastructure.template_queries import TemplateQueries  # noqa: E402

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}


@dataclass(frozen=True)
class Synthesized:
    app: cdk.App
    stack: PipelineStack
    template: Template
    queries: TemplateQueries
    assembly_dir: Path
    seconds: float  # wall time of build + synth, this process


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    started = time.perf_counter()
    app, stack = build_app(project_context(**SKIP_BUNDLING))
    assembly = app.synth()
    template = Template.from_stack(stack)
    seconds = time.perf_counter() - started
    yield Synthesized(
        app=app,
        stack=stack,
        template=template,
        queries=TemplateQueries(template.to_json()),
        assembly_dir=Path(assembly.directory),
        seconds=seconds,
    )


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template


@pytest.fixture(scope="session")
def queries(synthesized: Synthesized) -> TemplateQueries:
    return synthesized.queries


@pytest.fixture(scope="session")
def config(synthesized: Synthesized) -> PipelineConfig:
    """The configuration the session's stack was built with (cdk.json defaults)."""
    return synthesized.stack.config

