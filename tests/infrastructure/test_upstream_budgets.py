"""Each service's budget holds for the whole deployment: every function that calls a
budgeted service is given the deployment's budget (not a share of it) and the one slot
bucket every process spends it through, with only the bucket's conditional update."""

from __future__ import annotations

import json

import pytest

from tests.infrastructure.template_queries import TemplateQueries, render
from tests.infrastructure.test_data_stores import tables_by_role
from tests.infrastructure.test_settings_contract import FUNCTIONS
from tvreport import env_keys
from tvreport.upstream_budgets import DEPLOYMENT_BUDGETS


def _budgets(queries: TemplateQueries, directory: str) -> dict | None:
    raw = queries.environment(directory).get(env_keys.UPSTREAM_RATE_LIMITS)
    return None if raw is None else json.loads(raw)


def _bucket_grants(queries: TemplateQueries) -> dict[str, set[str]]:
    """directory -> DynamoDB actions on the bucket table (only those granted any)."""
    bucket = f"<{tables_by_role(queries)['upstream_budgets'][0]}.Arn>"
    found: dict[str, set[str]] = {}
    for directory in FUNCTIONS:
        for grant in queries.grants(directory):
            if render(grant.resource) == bucket:
                found.setdefault(directory, set()).add(grant.action)
    return found


def _bucket_table_ref(queries: TemplateQueries) -> dict:
    return {"Ref": tables_by_role(queries)["upstream_budgets"][0]}


def test_default_budgets_reach_their_callers_whole(queries: TemplateQueries) -> None:
    assert _budgets(queries, "query_show_data") == {"tmdb": DEPLOYMENT_BUDGETS["tmdb"]}
    assert _budgets(queries, "crawl_rotten_tomatoes") == {"rottentomatoes": DEPLOYMENT_BUDGETS["rottentomatoes"]}
    # unlimited by us (Gandalf, OpenAI by default): no budget, no bucket
    for directory in ("query_activities", "tv_bff", "star_sign_picker", "api"):
        assert _budgets(queries, directory) is None
        assert env_keys.UPSTREAM_BUDGETS_TABLE not in queries.environment(directory)


def test_the_bucket_is_granted_only_to_the_callers_of_a_budgeted_service(queries: TemplateQueries) -> None:
    assert _bucket_grants(queries) == {"query_show_data": {"dynamodb:UpdateItem"},
                                       "crawl_rotten_tomatoes": {"dynamodb:UpdateItem"}}
    for directory in ("query_show_data", "crawl_rotten_tomatoes"):
        assert queries.environment(directory)[env_keys.UPSTREAM_BUDGETS_TABLE] == _bucket_table_ref(queries)


@pytest.fixture(scope="module")
def tuned() -> TemplateQueries:
    """A deployment with its own budgets: OpenAI limited, TMDB unlimited."""
    from aws_cdk.assertions import Template

    from app import build_app, project_context
    from tests.conftest import SKIP_BUNDLING

    app, stack = build_app(project_context(
        **SKIP_BUNDLING, upstream_rate_limits='{"tmdb": null, "rottentomatoes": 2, "openai": 10}',
        stages={"crawl_rotten_tomatoes": {"max_concurrency": 4}}))
    return TemplateQueries(Template.from_stack(stack).to_json())


def test_configured_budgets_move_the_grants_with_them(tuned: TemplateQueries) -> None:
    assert _budgets(tuned, "crawl_rotten_tomatoes") == {"rottentomatoes": 2}  # whatever the fleet's size
    # both AI stages spend OpenAI's one budget, through the same item
    assert _budgets(tuned, "tv_bff") == _budgets(tuned, "star_sign_picker") == {"openai": 10}
    assert _budgets(tuned, "query_show_data") is None  # TMDB unlimited here: no bucket for it
    assert set(_bucket_grants(tuned)) == {"crawl_rotten_tomatoes", "tv_bff", "star_sign_picker"}
