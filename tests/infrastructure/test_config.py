"""PipelineConfig: defaults, context parsing and validation (no synth needed)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from app import build_app, make_app, project_context
from stacks.config import DEFAULT_QUEUE_STAGES, PipelineConfig
from tvreport.schema import STAGES
from tvreport.settings import ConfigError


def config_from(context: dict[str, Any]) -> PipelineConfig:
    return PipelineConfig.from_context(cdk.App(context=context).node)


def test_defaults_match_the_design() -> None:
    config = config_from({})
    assert (config.threshold_percent, config.chunk_size, config.session_ttl_days) == (97, 50, 30)
    assert (config.stall_timeout_seconds, config.watchdog_rate_minutes, config.show_cache_max_age_days) == (3600, 5, 30)
    assert config.gandalf_url == "https://sauron.gandalf.network/public/gql"
    assert config.gandalf_connect_url == "https://auth.gandalf.network"
    assert config.tmdb_url == "https://api.themoviedb.org"
    assert config.rotten_tomatoes_url == "https://www.rottentomatoes.com"
    assert config.openai_model == "gpt-4o-mini"
    assert config.create_secrets is True
    assert (config.chunk_wave_size, config.max_shows_per_session) == (10, 10_000)
    assert config.purge_delay_seconds == 360  # above the longest stage timeout (300 s)


def test_cdk_json_context_gives_the_same_config_as_the_defaults() -> None:
    assert config_from(project_context()) == PipelineConfig()


def test_command_line_strings_are_parsed() -> None:
    config = config_from({"threshold_percent": "90", "chunk_size": "25", "create_secrets": "false"})
    assert (config.threshold_percent, config.chunk_size, config.create_secrets) == (90, 25, False)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("threshold_percent", 0),
        ("threshold_percent", 101),
        ("threshold_percent", "ninety"),
        ("threshold_percent", True),
        ("chunk_size", 0),
        ("chunk_size", "0"),
        ("watchdog_rate_minutes", 0),
        ("session_ttl_days", -1),
        ("gandalf_url", "sauron.gandalf.network"),
        ("gandalf_connect_url", "auth.gandalf.network"),
        ("tmdb_url", "ftp://api.themoviedb.org"),
        ("openai_model", " "),
        ("log_retention", "FOREVER-ISH"),
        ("create_secrets", "maybe"),
        ("chunk_wave_size", 0),
        ("max_shows_per_session", 0),
    ],
)
def test_bad_context_values_are_rejected_with_the_key_named(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        config_from({key: value})


def test_the_purge_delay_is_at_least_30_seconds() -> None:
    with pytest.raises(ConfigError, match="purge_delay_seconds"):
        config_from({"purge_delay_seconds": 29})
    assert config_from({"purge_delay_seconds": 30}).purge_delay_seconds == 30


def test_burst_must_cover_the_steady_rate() -> None:
    with pytest.raises(ConfigError, match="api_burst_limit"):
        config_from({"api_rate_limit": 50, "api_burst_limit": 10})


def test_watchdog_must_not_end_a_session_while_a_chunk_waits_out_its_visibility_timeout() -> None:
    # The stage queues' visibility timeout is 6 x the longest stage timeout (300 s).
    for too_short in (120, 300, 1800):
        with pytest.raises(ConfigError, match="stall_timeout_seconds .* visibility timeout .* 1800 s"):
            config_from({"stall_timeout_seconds": too_short})
    assert config_from({"stall_timeout_seconds": 1801}).stall_timeout_seconds == 1801
    short_stages = {spec.folder: {"timeout_seconds": 60} for spec in STAGES.values()}
    assert config_from({"stall_timeout_seconds": 361, "stages": short_stages}).stall_timeout_seconds == 361
    with pytest.raises(ConfigError, match="360 s"):
        config_from({"stall_timeout_seconds": 360, "stages": short_stages})


def test_stage_specs_can_be_tuned_per_stage() -> None:
    config = config_from({"stages": {"query_show_data": {"max_concurrency": "20", "max_receive_count": 5}}})
    tuned = config.stage("query_show_data")
    assert (tuned.max_concurrency, tuned.max_receive_count) == (20, 5)
    assert config.stage("tv_bff") == next(s for s in DEFAULT_QUEUE_STAGES if s.directory == "tv_bff")


def test_stage_specs_accept_json_from_the_command_line() -> None:
    config = config_from({"stages": '{"tv_bff": {"timeout_seconds": 60}}'})
    assert config.stage("tv_bff").timeout_seconds == 60


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ({"no_such_stage": {"batch_size": 1}}, "unknown stage"),
        ({"tv_bff": {"retries": 3}}, "unknown option"),
        ({"tv_bff": {"max_concurrency": 1}}, "max_concurrency"),  # SQS minimum is 2
        ({"tv_bff": {"batch_size": 11}}, "batch_size"),
        ({"tv_bff": {"timeout_seconds": 901}}, "timeout_seconds"),
        ({"tv_bff": {"memory_mb": 64}}, "memory_mb"),
        ("{not json", "JSON"),
    ],
)
def test_bad_stage_specs_are_rejected(stages: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from({"stages": stages})


def test_function_sizes_can_be_tuned_and_are_validated() -> None:
    assert config_from({"functions": {"api": {"memory_mb": 1024}}}).functions["api"].memory_mb == 1024
    with pytest.raises(ConfigError, match="functions.api.timeout_seconds"):
        config_from({"functions": {"api": {"timeout_seconds": 0}}})
    with pytest.raises(ConfigError, match="unknown function"):
        config_from({"functions": {"apii": {"timeout_seconds": 5}}})


def test_the_app_refuses_to_synthesize_with_a_bad_threshold() -> None:
    with pytest.raises(ConfigError, match="threshold_percent must be between 1 and 100"):
        build_app(project_context(threshold_percent=101, **{"aws:cdk:bundling-stacks": []}))


@pytest.mark.parametrize(("flag", "bundles"), [("true", False), ("True", False), ("false", True), (None, True)])
def test_skip_bundling_switch_turns_bundling_off_for_every_stack(flag: str | None, bundles: bool) -> None:
    context = {} if flag is None else {"skip_bundling": flag}
    app = make_app(context)
    assert (app.node.try_get_context("aws:cdk:bundling-stacks") != []) is bundles


@pytest.mark.parametrize("raw", ["not json", "[1]", '{"tmdb": 0}', '{"tmdb": "fast"}', '{"tmdb": true}'])
def test_bad_rate_limit_overrides_are_rejected(raw):
    with pytest.raises(ConfigError, match="upstream_rate_limits"):
        PipelineConfig(upstream_rate_limits=raw)


def test_rate_limit_overrides_are_accepted():
    assert PipelineConfig(upstream_rate_limits='{"rottentomatoes": 50, "tmdb": null}').upstream_rate_limits
