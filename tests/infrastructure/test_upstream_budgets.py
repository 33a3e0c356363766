"""Each service's budget holds for the whole deployment: every calling function gets
the budget over its callers' maximum concurrency, so all of them at once stay within it."""

from __future__ import annotations

import json

import pytest

from tests.infrastructure.template_queries import TemplateQueries
from tvreport import env_keys
from tvreport.upstream_budgets import CALLERS, DEPLOYMENT_BUDGETS


def _shares(queries: TemplateQueries, directory: str) -> dict:
    return json.loads(queries.environment(directory)[env_keys.UPSTREAM_RATE_LIMITS])


def test_default_budgets_are_shared_over_the_callers_maximum_concurrency(queries: TemplateQueries, config) -> None:
    concurrency = {spec.directory: spec.max_concurrency for spec in config.queue_stages}
    assert _shares(queries, "query_show_data")["tmdb"] == DEPLOYMENT_BUDGETS["tmdb"] / concurrency["query_show_data"]
    assert _shares(queries, "crawl_rotten_tomatoes")["rottentomatoes"] == (
        DEPLOYMENT_BUDGETS["rottentomatoes"] / concurrency["crawl_rotten_tomatoes"])
    assert _shares(queries, "query_activities") == {"gandalf": None}  # unlimited stays unlimited


def test_the_whole_deployment_never_exceeds_a_budget(queries: TemplateQueries, config) -> None:
    concurrency = {spec.directory: spec.max_concurrency for spec in config.queue_stages}
    for service, callers in CALLERS.items():
        if DEPLOYMENT_BUDGETS[service] is None:
            continue
        total = sum(_shares(queries, d)[service] * concurrency[d] for d in callers)
        assert total == pytest.approx(DEPLOYMENT_BUDGETS[service])


@pytest.fixture(scope="module")
def tuned() -> TemplateQueries:
    """A deployment with its own budgets and a wider crawler fleet."""
    from app import build_app, project_context
    from tests.conftest import SKIP_BUNDLING

    app, stack = build_app(project_context(
        **SKIP_BUNDLING, upstream_rate_limits='{"tmdb": 30, "rottentomatoes": 2, "openai": 10}',
        stages={"crawl_rotten_tomatoes": {"max_concurrency": 4}, "tv_bff": {"max_concurrency": 3},
                "star_sign_picker": {"max_concurrency": 2}}))
    from aws_cdk.assertions import Template

    return TemplateQueries(Template.from_stack(stack).to_json())


def test_configured_budgets_and_concurrency_give_the_shares(tuned: TemplateQueries) -> None:
    assert _shares(tuned, "query_show_data")["tmdb"] == 3.0  # 30 over 10
    assert _shares(tuned, "crawl_rotten_tomatoes")["rottentomatoes"] == 0.5  # 2 over 4: one every 2 s
    # both AI stages spend OpenAI's one budget: 10 over 3 + 2 processes
    assert _shares(tuned, "tv_bff")["openai"] == _shares(tuned, "star_sign_picker")["openai"] == 2.0
