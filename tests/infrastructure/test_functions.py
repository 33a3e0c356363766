"""Every function: runtime, layers, tracing, logs, size and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import PipelineConfig
from stacks.layers import DEPENDENCIES_DIR, DEPENDENCY_LAYERS, LAYERS_BY_FUNCTION, PROJECT_ROOT
from tests.infrastructure.template_queries import TemplateQueries, referenced_ids
from tests.infrastructure.test_data_stores import tables_by_role
from tests.infrastructure.test_iam import FUNCTIONS
from tvreport import env_keys
from tvreport.schema import FOLLOW_UPS

COMMON_KEYS = {
    env_keys.SESSIONS_TABLE,
    env_keys.VIEWING_TABLE,
    env_keys.SHOW_CACHE_TABLE,
    env_keys.PROGRESS_THRESHOLD,
    env_keys.CHUNK_SIZE,
    env_keys.SESSION_TTL_DAYS,
    env_keys.STALL_TIMEOUT_SECONDS,
    env_keys.PURGE_DELAY_SECONDS,
    env_keys.RESEND_AFTER_SECONDS,
    env_keys.SHOW_CACHE_MAX_AGE_DAYS,
    env_keys.CHUNK_WAVE_SIZE,
    env_keys.MAX_SHOWS_PER_SESSION,
    env_keys.POWERTOOLS_SERVICE_NAME,
    env_keys.POWERTOOLS_METRICS_NAMESPACE,
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_TRACER_CAPTURE_ERROR",
    env_keys.POWERTOOLS_TRACE_DISABLED,  # per function: pipeline_function.sdk_traced
    env_keys.PYDANTIC_DISABLE_PLUGINS,
}

FOLLOW_UP_QUEUE_KEYS = {spec.queue_url_key for spec in FOLLOW_UPS}
OPENAI_KEYS = {env_keys.OPENAI_API_KEY_SECRET, env_keys.OPENAI_MODEL, env_keys.OPENAI_BASE_URL}
# The callers of a service with a budget by default (TMDB, Rotten Tomatoes): the budgets and the slot bucket.
BUDGET_KEYS = {env_keys.UPSTREAM_RATE_LIMITS, env_keys.UPSTREAM_BUDGETS_TABLE}
# The keys each function gets beyond the common ones (the brief's wiring table).
EXTRA_KEYS = {
    "api": {env_keys.QUERY_ACTIVITIES_QUEUE_URL, env_keys.UPLOADS_BUCKET, env_keys.API_ALLOWED_ORIGINS,
            env_keys.GANDALF_CONNECT_URL, env_keys.GANDALF_PRIVATE_KEY_SECRET},
    "query_activities": {
        env_keys.QUERY_ACTIVITIES_QUEUE_URL,
        env_keys.QUERY_SHOW_DATA_QUEUE_URL,
        env_keys.UPLOADS_BUCKET,
        env_keys.GANDALF_URL,
        env_keys.GANDALF_PRIVATE_KEY_SECRET,
    },
    "query_show_data": {
        *BUDGET_KEYS,
        env_keys.QUERY_SHOW_DATA_QUEUE_URL,  # hand-off of the shows left near the deadline
        env_keys.CRAWL_RT_QUEUE_URL,
        env_keys.TMDB_URL,
        env_keys.TMDB_API_KEY_SECRET,
    },
    "crawl_rotten_tomatoes": {*BUDGET_KEYS, env_keys.CRAWL_RT_QUEUE_URL, env_keys.ROTTEN_TOMATOES_URL},
    # every follow-up stage: the OpenAI keys when it calls OpenAI (tv_bff, star_sign_picker), else none
    **{spec.folder: OPENAI_KEYS if spec.upstream == "openai" else set() for spec in FOLLOW_UPS},
    # every follow-up stage's queue (tvreport.schema): the tracker sends it, the watchdog re-sends it
    "progress_tracker": {env_keys.QUERY_SHOW_DATA_QUEUE_URL, *FOLLOW_UP_QUEUE_KEYS},
    "dead_letters": {env_keys.DEAD_LETTER_SOURCES},
    "watchdog": {env_keys.QUERY_SHOW_DATA_QUEUE_URL, *FOLLOW_UP_QUEUE_KEYS},
}

# Names of resources reach functions as tokens of the resource, never literals.
RESOURCE_KEYS = {
    env_keys.SESSIONS_TABLE: "AWS::DynamoDB::Table",
    env_keys.VIEWING_TABLE: "AWS::DynamoDB::Table",
    env_keys.SHOW_CACHE_TABLE: "AWS::DynamoDB::Table",
    env_keys.UPLOADS_BUCKET: "AWS::S3::Bucket",
    env_keys.QUERY_ACTIVITIES_QUEUE_URL: "AWS::SQS::Queue",
    env_keys.QUERY_SHOW_DATA_QUEUE_URL: "AWS::SQS::Queue",
    env_keys.CRAWL_RT_QUEUE_URL: "AWS::SQS::Queue",
    **{key: "AWS::SQS::Queue" for key in FOLLOW_UP_QUEUE_KEYS},
    env_keys.GANDALF_PRIVATE_KEY_SECRET: "AWS::SecretsManager::Secret",
    env_keys.TMDB_API_KEY_SECRET: "AWS::SecretsManager::Secret",
    env_keys.OPENAI_API_KEY_SECRET: "AWS::SecretsManager::Secret",
}


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_function_runs_the_thin_handler_on_the_newest_python_with_tracing(
    queries: TemplateQueries, directory: str
) -> None:
    function = queries.function(directory)
    assert function["Runtime"] == "python3.14"  # the newest aws-cdk-lib 2.275 knows (cdk-nag L1)
    assert function["Handler"] == "handler.handler"
    assert function["Architectures"] == ["arm64"]  # Graviton
    assert function["TracingConfig"] == {"Mode": "Active"}


# The third-party packages each function's layers carry (its stage's imports, no more).
NEEDS = {"base": {"aws-lambda-powertools[parser,tracer]", "pydantic", "tenacity", "cryptography"},
         "crawl": {"httpx", "selectolax"}, "ai": {"openai"}}


def _pins(requirements: Path) -> dict[str, str]:
    return dict(line.split("==", 1) for line in requirements.read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def _layer_packages(queries: TemplateQueries, layer_id: str) -> set[str]:
    description = queries.props(layer_id)["Description"]
    for name in NEEDS:
        if description.startswith(DEPENDENCY_LAYERS[name]):
            return set(_pins(DEPENDENCIES_DIR / name / "requirements.txt"))
    return set()  # the shared layer


def test_every_layer_pin_equals_the_root_requirements() -> None:
    root = _pins(PROJECT_ROOT / "requirements.txt")
    for name in DEPENDENCY_LAYERS:
        for package, version in _pins(DEPENDENCIES_DIR / name / "requirements.txt").items():
            assert root.get(package) == version, f"{name} layer pins {package}=={version}, requirements.txt does not"


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_function_has_only_the_layers_its_stage_needs(queries: TemplateQueries, directory: str) -> None:
    layers = [next(referenced_ids(layer)) for layer in queries.function(directory)["Layers"]]
    assert len(layers) == len(LAYERS_BY_FUNCTION[directory]) + 1  # + the shared layer, last
    assert queries.props(layers[-1])["Description"] == "Shared tvreport domain package"
    packages = set().union(*(_layer_packages(queries, layer) for layer in layers))
    wanted = set().union(*(NEEDS[name] for name in LAYERS_BY_FUNCTION[directory]))
    assert wanted <= packages
    if directory not in ("tv_bff", "star_sign_picker"):
        assert "openai" not in packages  # only the AI stages load the AI stack
    if directory in ("api", "dead_letters", "progress_tracker", "watchdog"):
        assert not packages & {"httpx", "selectolax", "openai"}
    for layer in layers:
        assert queries.props(layer)["CompatibleRuntimes"] == ["python3.14"]
        assert queries.props(layer)["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_function_logs_to_its_own_group_with_retention(queries: TemplateQueries, directory: str) -> None:
    [log_group] = referenced_ids(queries.function(directory)["LoggingConfig"]["LogGroup"])
    assert queries.resources[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert queries.props(log_group)["RetentionInDays"] == 30


def test_no_two_functions_share_a_log_group(queries: TemplateQueries) -> None:
    groups = [queries.function(d)["LoggingConfig"]["LogGroup"]["Ref"] for d in FUNCTIONS]
    assert len(set(groups)) == len(FUNCTIONS)


@pytest.mark.parametrize("directory", ["api", "progress_tracker", "dead_letters", "watchdog"])
def test_standalone_function_size_follows_the_config(
    queries: TemplateQueries, config: PipelineConfig, directory: str
) -> None:
    function = queries.function(directory)
    spec = config.functions[directory]
    assert (function["Timeout"], function["MemorySize"]) == (spec.timeout_seconds, spec.memory_mb)


def test_api_answers_well_within_api_gateways_29_second_limit(queries: TemplateQueries) -> None:
    assert queries.function("api")["Timeout"] <= 15


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_function_gets_exactly_the_environment_it_needs(queries: TemplateQueries, directory: str) -> None:
    assert set(queries.environment(directory)) == COMMON_KEYS | EXTRA_KEYS[directory]


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_no_trace_carries_a_response_or_an_exception(queries: TemplateQueries, directory: str) -> None:
    """X-Ray keeps traces 30 days, out of DELETE's reach: session documents and
    reports (responses) and exception messages (may quote input) stay out."""
    env = queries.environment(directory)
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_environment_values_match_the_config(queries: TemplateQueries, config: PipelineConfig, directory: str) -> None:
    env = queries.environment(directory)
    assert env[env_keys.POWERTOOLS_SERVICE_NAME] == directory
    assert env[env_keys.POWERTOOLS_METRICS_NAMESPACE] == "TvReport"
    assert env[env_keys.PROGRESS_THRESHOLD] == str(config.threshold_percent)
    assert env[env_keys.CHUNK_SIZE] == str(config.chunk_size)
    assert env[env_keys.SESSION_TTL_DAYS] == str(config.session_ttl_days)
    assert env[env_keys.STALL_TIMEOUT_SECONDS] == str(config.stall_timeout_seconds)
    assert env[env_keys.PURGE_DELAY_SECONDS] == str(config.purge_delay_seconds)
    assert env[env_keys.RESEND_AFTER_SECONDS] == str(config.resend_after_seconds)
    assert env[env_keys.SHOW_CACHE_MAX_AGE_DAYS] == str(config.show_cache_max_age_days)
    assert env[env_keys.CHUNK_WAVE_SIZE] == str(config.chunk_wave_size)
    assert env[env_keys.MAX_SHOWS_PER_SESSION] == str(config.max_shows_per_session)
    expected_urls = {
        env_keys.GANDALF_URL: config.gandalf_url,
        env_keys.TMDB_URL: config.tmdb_url,
        env_keys.ROTTEN_TOMATOES_URL: config.rotten_tomatoes_url,
        env_keys.OPENAI_MODEL: config.openai_model,
        env_keys.OPENAI_BASE_URL: config.openai_base_url,
    }
    for key, value in expected_urls.items():
        if key in env:
            assert env[key] == value


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_resource_names_are_tokens_of_the_resources(queries: TemplateQueries, directory: str) -> None:
    for key, value in queries.environment(directory).items():
        if key not in RESOURCE_KEYS:
            continue
        assert not isinstance(value, str), f"{directory}.{key} is a literal name"
        types = {queries.resources[rid]["Type"] for rid in referenced_ids(value)}
        assert types == {RESOURCE_KEYS[key]}, f"{directory}.{key}"


def test_the_table_keys_point_at_the_matching_tables(queries: TemplateQueries) -> None:
    tables = {role: lid for role, (lid, _) in tables_by_role(queries).items()}
    env = queries.environment("watchdog")
    assert env[env_keys.SESSIONS_TABLE] == {"Ref": tables["sessions"]}
    assert env[env_keys.VIEWING_TABLE] == {"Ref": tables["viewing"]}
    assert env[env_keys.SHOW_CACHE_TABLE] == {"Ref": tables["show_cache"]}
