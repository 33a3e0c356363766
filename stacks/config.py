"""Deploy-time options, read once from CDK context into one validated object.

Every value can be overridden with `cdk synth -c key=value` (values given on the
command line arrive as strings, so integers are parsed here) or in cdk.json.
A bad value stops synthesis with a message naming the key and the allowed range.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlparse

from aws_cdk import aws_logs as logs
from constructs import Node

from tvreport.schema import STAGES, Stage
from tvreport.settings import ConfigError  # the one ConfigError: synth and cold start alike


@dataclass(frozen=True)
class FunctionSpec:
    """Size of one Lambda function (see docs/architecture.md, function table)."""

    timeout_seconds: int
    memory_mb: int


@dataclass(frozen=True)
class QueueStageSpec:
    """One queue-fed stage: its function (lambdas/<directory>) and its queue."""

    directory: str  # lambdas/<directory>, also the construct id stem (tvreport.schema: folder)
    stage_name: str  # the stored stage name dead_letters records a failure under (a Stage value)
    timeout_seconds: int
    memory_mb: int
    batch_size: int
    max_receive_count: int
    max_concurrency: int


# Sizes per docs/architecture.md. The long stages get 300 s: a Gandalf page loop,
# a TMDB chunk of 50 shows or a Rotten Tomatoes crawl of 50 shows must finish with
# room for retries with backoff; query_activities hands off to itself before its
# timeout, so 300 s bounds one slice, not the whole history. query_activities gets
# 1024 MB because parsing and writing a long history is CPU-bound (Lambda CPU scales
# with memory). The AI stages make one or two OpenAI calls (120 s). The tracker and
# dead_letters only do conditional DynamoDB writes (60 s / 256 MB).
_STAGE_SIZES: dict[Stage, dict[str, int]] = {
    # Gandalf is one upstream per session: few concurrent sessions at once.
    Stage.QUERY_ACTIVITIES: dict(
        timeout_seconds=300, memory_mb=1024, batch_size=1, max_receive_count=3, max_concurrency=5,
    ),
    # TMDB allows about 50 requests/s per key: 10 chunks in flight stay below it.
    Stage.QUERY_SHOW_DATA: dict(
        timeout_seconds=300, memory_mb=512, batch_size=1, max_receive_count=3, max_concurrency=10,
    ),
    # Rotten Tomatoes is crawled politely (few crawlers); its pages are flaky,
    # so one more receive before the DLQ.
    Stage.CRAWL_ROTTEN_TOMATOES: dict(
        timeout_seconds=300, memory_mb=512, batch_size=1, max_receive_count=4, max_concurrency=5,
    ),
}
# Every follow-up stage (the AI stages, and any added to tvreport.schema) unless named above.
_FOLLOW_UP_SIZE = dict(timeout_seconds=120, memory_mb=512, batch_size=1, max_receive_count=3, max_concurrency=5)
# One queue-fed stage per registry entry, in pipeline order.
DEFAULT_QUEUE_STAGES: tuple[QueueStageSpec, ...] = tuple(
    QueueStageSpec(spec.folder, spec.stage.value, **_STAGE_SIZES.get(spec.stage, _FOLLOW_UP_SIZE))
    for spec in STAGES.values()
)

DEFAULT_FUNCTIONS: dict[str, FunctionSpec] = {
    "api": FunctionSpec(10, 512),  # API Gateway's own limit is 29 s; stay well below
    "progress_tracker": FunctionSpec(60, 256),
    "dead_letters": FunctionSpec(60, 256),
    "watchdog": FunctionSpec(120, 256),
}

# Lambda's advice: a visibility timeout of at least 6x the function timeout, so a
# message is not redelivered while retries of a throttled invocation are pending.
VISIBILITY_TIMEOUT_FACTOR = 6

# Bounds Lambda and SQS accept, so a bad value fails at synth, not at deploy.
_TIMEOUT_RANGE = (1, 900)
_MEMORY_RANGE = (128, 10240)
_SQS_BATCH_RANGE = (1, 10)
_MAX_RECEIVE_RANGE = (1, 1000)
_SQS_MAX_CONCURRENCY_RANGE = (2, 1000)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class PipelineConfig:
    """Every deploy-time option of the pipeline stack."""

    threshold_percent: int = 97
    chunk_size: int = 50
    # A session's chunks go out in waves of this many, at most two waves ahead of
    # what crawlRottenTomatoes has executed (20 chunks = 1,000 shows in flight per
    # session by default), so one long history cannot queue ahead of every other.
    chunk_wave_size: int = 10
    # Distinct shows one session may have: an export past it is refused (422), a
    # Gandalf history past it ends FAILED with TOO_MANY_SHOWS.
    max_shows_per_session: int = 10_000
    session_ttl_days: int = 30
    # Longer than the stage queues' visibility timeout (6 x the longest stage
    # timeout: 6 x 300 s), so a chunk that failed once is retried before the
    # watchdog may end its session.
    stall_timeout_seconds: int = 3600
    # DELETE's second pass (the watchdog) purges stragglers this long after the
    # tombstone. On AWS keep it above the longest stage timeout (300 s), so every
    # invocation that read the session before its tombstone has ended; the local
    # runner, whose stages finish in seconds, sets it short.
    purge_delay_seconds: int = 360
    # A follow-up send (tvBFF, starSignPicker) that failed is re-sent by the watchdog
    # after this, then after twice as long each time, at most every 30 minutes. The
    # local runner, whose watchdog sweeps every few seconds, sets it short.
    resend_after_seconds: int = 120
    watchdog_rate_minutes: int = 5
    show_cache_max_age_days: int = 30
    gandalf_url: str = "https://sauron.gandalf.network/public/gql"
    # Gandalf Connect, where a person links Netflix (the Connect SDKs' web/Android base URL)
    gandalf_connect_url: str = "https://auth.gandalf.network"
    tmdb_url: str = "https://api.themoviedb.org"
    rotten_tomatoes_url: str = "https://www.rottentomatoes.com"
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = ""  # empty: the OpenAI SDK's default endpoint
    # JSON {"tmdb": 40, "rottentomatoes": 5}: requests/s for the whole deployment, replacing
    # tvreport.upstream_budgets' defaults per service; each calling function gets the budget
    # over its callers' max_concurrency. A sandbox may be crawled faster.
    upstream_rate_limits: str = ""
    api_rate_limit: int = 20  # steady requests per second, whole API
    api_burst_limit: int = 40
    # Comma-separated origins a browser on another site may call the API from, e.g.
    # "https://app.example.com"; empty: no CORS (the web page is served same-origin).
    api_allowed_origins: str = ""
    # Comma-separated client names: each gets an API key (header X-Api-Key) in one usage
    # plan with the per-client rate, burst and daily quota below; empty: no keys.
    api_keys: str = ""
    api_key_rate_limit: int = 5
    api_key_burst_limit: int = 10
    api_key_quota_per_day: int = 10000
    log_retention: str = "ONE_MONTH"  # an aws_logs.RetentionDays name
    stream_batch_size: int = 100
    stream_retry_attempts: int = 4
    stream_max_record_age_hours: int = 24
    dead_letters_batch_size: int = 10
    # Alarms (stacks/constructs/monitoring.py) go to one SNS topic; with an address
    # here it gets an email subscription (to be confirmed from the mail). Off: "".
    alarm_email: str = ""
    # A stage message older than this is stuck (default: half the stall timeout,
    # so the alarm fires before the watchdog fails the sessions behind it).
    queue_age_alarm_seconds: int = 1800
    stream_iterator_age_alarm_seconds: int = 300  # the tracker falls behind its stream
    failed_sessions_alarm_per_hour: int = 5  # more sessions FAILED in one hour alarms
    # False: reference existing secrets `<stack>/<credential>` instead of creating
    # them (moto's CloudFormation, used by the local runner, cannot create secrets).
    create_secrets: bool = True
    queue_stages: tuple[QueueStageSpec, ...] = DEFAULT_QUEUE_STAGES
    functions: Mapping[str, FunctionSpec] = field(default_factory=lambda: dict(DEFAULT_FUNCTIONS))

    def __post_init__(self) -> None:
        self._validate()

    @classmethod
    def from_context(cls, node: Node) -> PipelineConfig:
        """Build from the app's CDK context; keys absent from it keep their default."""
        values: dict[str, Any] = {}
        for option in fields(cls):
            if option.name in ("queue_stages", "functions"):
                continue
            raw = node.try_get_context(option.name)
            if raw is not None:
                values[option.name] = _coerce(option.name, raw, type(getattr(_DEFAULTS, option.name)))
        values["queue_stages"] = _stage_overrides(node.try_get_context("stages"))
        values["functions"] = _function_overrides(node.try_get_context("functions"))
        return cls(**values)  # __post_init__ validates the ranges

    def _validate(self) -> None:
        _check_range("threshold_percent", self.threshold_percent, 1, 100)
        _check_range("chunk_size", self.chunk_size, 1, 500)
        _check_range("chunk_wave_size", self.chunk_wave_size, 1, 1000)
        _check_range("max_shows_per_session", self.max_shows_per_session, 1, 1_000_000)
        _check_range("session_ttl_days", self.session_ttl_days, 1, 365)
        _check_range("stall_timeout_seconds", self.stall_timeout_seconds, 60, 86400)
        _check_range("purge_delay_seconds", self.purge_delay_seconds, 30, 86400)
        _check_range("resend_after_seconds", self.resend_after_seconds, 1, 1800)
        _check_rate_limits(self.upstream_rate_limits)
        _check_api_edge(self)
        _check_range("watchdog_rate_minutes", self.watchdog_rate_minutes, 1, 1440)
        _check_range("show_cache_max_age_days", self.show_cache_max_age_days, 1, 3650)
        _check_range("api_rate_limit", self.api_rate_limit, 1, 10000)
        _check_range("api_burst_limit", self.api_burst_limit, 1, 5000)
        if self.api_burst_limit < self.api_rate_limit:
            raise ConfigError(
                f"api_burst_limit ({self.api_burst_limit}) must be >= api_rate_limit ({self.api_rate_limit})"
            )
        if self.log_retention not in logs.RetentionDays.__members__:
            raise ConfigError(
                f"log_retention must be one of {sorted(logs.RetentionDays.__members__)}, got {self.log_retention!r}"
            )
        _check_range("stream_batch_size", self.stream_batch_size, 1, 1000)
        _check_range("stream_retry_attempts", self.stream_retry_attempts, 0, 10000)
        _check_range("stream_max_record_age_hours", self.stream_max_record_age_hours, 1, 168)
        _check_range("dead_letters_batch_size", self.dead_letters_batch_size, *_SQS_BATCH_RANGE)
        if self.alarm_email and not _EMAIL.fullmatch(self.alarm_email):
            raise ConfigError(f"alarm_email must be an email address or empty, got {self.alarm_email!r}")
        # Up to the stage queues' retention (SQS default, 4 days).
        _check_range("queue_age_alarm_seconds", self.queue_age_alarm_seconds, 60, 345600)
        _check_range("stream_iterator_age_alarm_seconds", self.stream_iterator_age_alarm_seconds, 60, 86400)
        _check_range("failed_sessions_alarm_per_hour", self.failed_sessions_alarm_per_hour, 1, 100000)
        for key in ("gandalf_url", "gandalf_connect_url", "tmdb_url", "rotten_tomatoes_url"):
            _check_url(key, getattr(self, key))
        if self.openai_base_url:
            _check_url("openai_base_url", self.openai_base_url)
        if not self.openai_model.strip():
            raise ConfigError("openai_model must not be empty")
        for stage in self.queue_stages:
            _check_stage(stage)
        visibility = VISIBILITY_TIMEOUT_FACTOR * max(stage.timeout_seconds for stage in self.queue_stages)
        if self.stall_timeout_seconds <= visibility:
            # Otherwise the watchdog could end a session whose failed chunk is still
            # invisible on its queue, waiting to be retried.
            raise ConfigError(
                f"stall_timeout_seconds ({self.stall_timeout_seconds}) must be longer than the stage queues' "
                f"visibility timeout ({VISIBILITY_TIMEOUT_FACTOR} x the longest stage timeout = {visibility} s)"
            )
        missing = set(DEFAULT_FUNCTIONS) - set(self.functions)
        if missing:
            raise ConfigError(f"functions: no size for {sorted(missing)}")
        for name, spec in self.functions.items():
            _check_range(f"functions.{name}.timeout_seconds", spec.timeout_seconds, *_TIMEOUT_RANGE)
            _check_range(f"functions.{name}.memory_mb", spec.memory_mb, *_MEMORY_RANGE)

    @property
    def allowed_origins(self) -> list[str]:
        return [origin.strip() for origin in self.api_allowed_origins.split(",") if origin.strip()]

    @property
    def api_clients(self) -> list[str]:
        return [client.strip() for client in self.api_keys.split(",") if client.strip()]

    def stage(self, directory: str) -> QueueStageSpec:
        for spec in self.queue_stages:
            if spec.directory == directory:
                return spec
        raise KeyError(directory)


def _check_stage(stage: QueueStageSpec) -> None:
    prefix = f"stages.{stage.directory}"
    _check_range(f"{prefix}.timeout_seconds", stage.timeout_seconds, *_TIMEOUT_RANGE)
    _check_range(f"{prefix}.memory_mb", stage.memory_mb, *_MEMORY_RANGE)
    _check_range(f"{prefix}.batch_size", stage.batch_size, *_SQS_BATCH_RANGE)
    _check_range(f"{prefix}.max_receive_count", stage.max_receive_count, *_MAX_RECEIVE_RANGE)
    _check_range(f"{prefix}.max_concurrency", stage.max_concurrency, *_SQS_MAX_CONCURRENCY_RANGE)
    # SQS caps the visibility timeout at 12 h, and the queue needs 6x the timeout.
    if stage.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR > 43200:
        raise ConfigError(f"{prefix}.timeout_seconds: 6 x timeout must fit SQS's 12 h visibility limit")


def _check_rate_limits(raw: str) -> None:
    if not raw:
        return
    try:
        limits = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"upstream_rate_limits must be JSON: {error}") from error
    if not isinstance(limits, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 or v is None for v in limits.values()
    ):
        raise ConfigError('upstream_rate_limits must map services to positive integers or null, e.g. {"tmdb": 40}')


def _check_api_edge(config: PipelineConfig) -> None:
    for origin in config.allowed_origins:
        parsed = urlparse(origin)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path or origin.endswith("/"):
            raise ConfigError(f"api_allowed_origins: {origin!r} is not an origin like https://app.example.com")
    for client in config.api_clients:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", client):
            raise ConfigError(f"api_keys: {client!r} is not a client name (1-64 of A-Z a-z 0-9 _ -)")
    _check_range("api_key_rate_limit", config.api_key_rate_limit, 1, 10000)
    _check_range("api_key_burst_limit", config.api_key_burst_limit, config.api_key_rate_limit, 5000)
    _check_range("api_key_quota_per_day", config.api_key_quota_per_day, 1, 100_000_000)


def _check_range(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, got {value!r}")


def _check_url(key: str, value: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{key} must be an http(s) URL, got {value!r}")


def _coerce(key: str, raw: Any, wanted: type) -> Any:
    """Context from `-c key=value` is a string; cdk.json gives JSON types."""
    if wanted is int:
        if isinstance(raw, bool):
            raise ConfigError(f"{key} must be an integer, got {raw!r}")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw.strip())
        raise ConfigError(f"{key} must be an integer, got {raw!r}")
    if wanted is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise ConfigError(f"{key} must be true or false, got {raw!r}")
    if wanted is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{key} must be a string, got {raw!r}")
        return raw
    raise ConfigError(f"{key}: unsupported option type {wanted.__name__}")


def _as_mapping(key: str, raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):  # `-c stages='{"<folder>": {...}}'`
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{key} must be a JSON object: {error}") from error
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{key} must be an object, got {raw!r}")
    return raw


def _stage_overrides(raw: Any) -> tuple[QueueStageSpec, ...]:
    """`stages` context: {"<directory>": {"max_concurrency": 20, ...}}."""
    overrides = _as_mapping("stages", raw)
    known = {stage.directory: stage for stage in DEFAULT_QUEUE_STAGES}
    unknown = set(overrides) - set(known)
    if unknown:
        raise ConfigError(f"stages: unknown stage(s) {sorted(unknown)}; known: {sorted(known)}")
    tunable = {"timeout_seconds", "memory_mb", "batch_size", "max_receive_count", "max_concurrency"}
    stages = []
    for directory, stage in known.items():
        changes = _as_mapping(f"stages.{directory}", overrides.get(directory))
        bad = set(changes) - tunable
        if bad:
            raise ConfigError(f"stages.{directory}: unknown option(s) {sorted(bad)}; known: {sorted(tunable)}")
        parsed = {name: _coerce(f"stages.{directory}.{name}", value, int) for name, value in changes.items()}
        stages.append(replace(stage, **parsed))
    return tuple(stages)


def _function_overrides(raw: Any) -> dict[str, FunctionSpec]:
    """`functions` context: {"api": {"timeout_seconds": 15, "memory_mb": 1024}}."""
    overrides = _as_mapping("functions", raw)
    unknown = set(overrides) - set(DEFAULT_FUNCTIONS)
    if unknown:
        raise ConfigError(f"functions: unknown function(s) {sorted(unknown)}; known: {sorted(DEFAULT_FUNCTIONS)}")
    result = {}
    for name, spec in DEFAULT_FUNCTIONS.items():
        changes = _as_mapping(f"functions.{name}", overrides.get(name))
        bad = set(changes) - {"timeout_seconds", "memory_mb"}
        if bad:
            raise ConfigError(f"functions.{name}: unknown option(s) {sorted(bad)}")
        parsed = {key: _coerce(f"functions.{name}.{key}", value, int) for key, value in changes.items()}
        result[name] = replace(spec, **parsed)
    return result


_DEFAULTS = PipelineConfig()
