"""moto with the synthesized template's tables, and the environment CDK gives a
function, for handler-level tests."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from moto import mock_aws

from local.sandbox import Sandbox
from tests.support.template import create_tables
from tvreport import aws, env_keys
from tvreport.clients import slots

REGION = "us-east-1"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto_tables(cdk_template: dict, aws_credentials: None,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """role ("sessions", "viewing", "show_cache", "upstream_budgets") -> table name, inside
    mock_aws; the budgeted clients spend their budgets through this bucket table."""
    with mock_aws():
        aws.reset()
        tables = create_tables(cdk_template, REGION)
        monkeypatch.setenv(env_keys.UPSTREAM_BUDGETS_TABLE, tables["upstream_budgets"])
        slots.slot_scheduler.cache_clear()
        yield tables
        slots.slot_scheduler.cache_clear()
        aws.reset()


@pytest.fixture
def function_env(moto_tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    """Set what every function gets (tables, pipeline options) plus `extra`, and forget
    settings cached by an earlier cold start."""
    from tvreport import wiring

    def apply(extra: dict[str, str]) -> None:
        common = {env_keys.SESSIONS_TABLE: moto_tables["sessions"], env_keys.VIEWING_TABLE: moto_tables["viewing"],
                  env_keys.SHOW_CACHE_TABLE: moto_tables["show_cache"], env_keys.PROGRESS_THRESHOLD: "97",
                  env_keys.CHUNK_SIZE: "50", env_keys.SESSION_TTL_DAYS: "1",
                  env_keys.STALL_TIMEOUT_SECONDS: "600", env_keys.PURGE_DELAY_SECONDS: "360",
                  env_keys.RESEND_AFTER_SECONDS: "120",
                  env_keys.SHOW_CACHE_MAX_AGE_DAYS: "30",
                  env_keys.CHUNK_WAVE_SIZE: "10", env_keys.MAX_SHOWS_PER_SESSION: "10000"}
        for key, value in {**common, **extra}.items():
            monkeypatch.setenv(key, value)
        wiring.tables.cache_clear()
        wiring.pipeline.cache_clear()
        slots.slot_scheduler.cache_clear()  # each test's budgets, on this test's bucket

    return apply


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """The sandbox servers (Gandalf, TMDB, Rotten Tomatoes) on loopback, once per module."""
    with Sandbox() as running:
        yield running
