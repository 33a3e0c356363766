"""Views of the session's synthesized app (the `synthesized` fixture lives in
tests/conftest.py so integration tests share the one synth)."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from stacks.config import PipelineConfig
from tests.conftest import Synthesized
from tests.infrastructure.template_queries import TemplateQueries


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template


@pytest.fixture(scope="session")
def queries(synthesized: Synthesized) -> TemplateQueries:
    return synthesized.queries


@pytest.fixture(scope="session")
def config(synthesized: Synthesized) -> PipelineConfig:
    """The configuration the session's stack was built with (the defaults: cdk.json sets no option)."""
    return synthesized.stack.config

