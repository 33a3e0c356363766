"""PipelineConfig: defaults, context parsing and validation (no synth needed)."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest

from app import build_app, make_app, project_context
from stacks.config import PipelineConfig
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
    assert config.stage("tv_bff") == PipelineConfig().stage("tv_bff")


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
    with pytest.raises(ConfigError, match="threshold_percent: Input should be less than or equal to 100, got 101"):
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


# -- each class of bad input: ConfigError, naming the option --------------------

@pytest.mark.parametrize(("context", "message"), [
    ({"chunk_size": "fifty"}, "chunk_size: Input should be a valid integer, got 'fifty'"),
    ({"chunk_size": 2.5}, "chunk_size: Input should be a valid integer, got 2.5"),
    ({"create_secrets": 1}, "create_secrets: Input should be a valid boolean, got 1"),
    ({"tmdb_url": 443}, "tmdb_url: Input should be a valid string, got 443"),
    ({"stages": {"tv_bff": {"batch_size": "one"}}}, "stages.tv_bff.batch_size: Input should be a valid integer"),
    ({"stages": {"tv_bff": 5}}, "stages.tv_bff: Input should be a valid dictionary"),
    ({"functions": ["api"]}, "functions: Input should be a valid dictionary"),
])
def test_a_value_of_the_wrong_type_is_refused(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config_from(context)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(("context", "message"), [
    ({"session_ttl_days": 366}, "session_ttl_days: Input should be less than or equal to 365, got 366"),
    ({"stream_retry_attempts": "-1"}, "stream_retry_attempts: Input should be greater than or equal to 0, got -1"),
    ({"stages": {"query_show_data": {"memory_mb": 10241}}},
     "stages.query_show_data.memory_mb: Input should be less than or equal to 10240, got 10241"),
    ({"functions": {"watchdog": {"memory_mb": "64"}}},
     "functions.watchdog.memory_mb: Input should be greater than or equal to 128, got 64"),
])
def test_a_value_out_of_range_is_refused_with_the_bound(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        config_from(context)


@pytest.mark.parametrize(("context", "message"), [
    ({"threshhold_percent": 90}, "threshhold_percent: unknown option; did you mean 'threshold_percent'?"),
    ({"stages": {"tv_bff": {"max_concurency": 3}}},
     "stages.tv_bff.max_concurency: unknown option; did you mean 'max_concurrency'?"),
    ({"functions": {"api": {"cpu": 2}}}, "functions.api.cpu: unknown option; known: ['memory_mb', 'timeout_seconds']"),
])
def test_an_unknown_option_is_refused_with_the_nearest_name(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        config_from(context)


def test_an_unknown_stage_or_function_is_refused_with_the_known_ones() -> None:
    folders = sorted(spec.folder for spec in STAGES.values())
    with pytest.raises(ConfigError, match=re.escape(f"stages: unknown stage(s) ['tv_buff']; known: {folders}")):
        config_from({"stages": '{"tv_buff": {"timeout_seconds": 60}}'})
    with pytest.raises(ConfigError, match=re.escape("functions: unknown function(s) ['tracker']")):
        config_from({"functions": {"tracker": {"memory_mb": 512}}})


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        config_from({"chunk_size": 0, "tmdb_url": "tmdb", "stages": {"tv_bff": {"batch_size": 11}}})
    assert [line.split(":")[0] for line in str(raised.value).splitlines()] == [
        "chunk_size", "tmdb_url", "stages.tv_bff.batch_size"]


def test_cdk_keys_and_the_app_switch_are_not_options() -> None:
    context = project_context(skip_bundling="true", **{"aws:cdk:bundling-stacks": [],
                                                        "availability-zones:account=1:region=x": ["a"]})
    assert config_from(context) == PipelineConfig()


def test_cdk_json_holds_no_option_so_each_default_is_written_once() -> None:
    assert not set(project_context()) & set(PipelineConfig.model_fields)
