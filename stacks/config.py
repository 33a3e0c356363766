"""Deploy-time options, read once from CDK context into one validated object.

Each option's default is written here only (cdk.json holds CDK's feature flags, no
option). Every value can be overridden with `cdk synth -c key=value` (values given on
the command line arrive as strings, so integers and booleans are parsed here) or in
cdk.json's context. A bad value, an unknown option or an unknown stage stops synthesis
with ConfigError naming the option. The checks are pydantic's: a range is a Field's
ge/le, a rule between options the model validator at the end.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlparse

from aws_cdk import aws_logs as logs
from constructs import Node
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from tvreport.schema import STAGES, Stage
from tvreport.settings import ConfigError  # the one ConfigError: synth and cold start alike

# app.py's switch (`-c skip_bundling=true`): context the app reads, not a stack option.
SKIP_BUNDLING = "skip_bundling"
# Context keys that can be options: CDK's own keys (feature flags `@aws-cdk/...:...`,
# `aws:cdk:...`, lookups `availability-zones:...`, `acknowledged-issue-numbers`) all
# have a colon or a dash, so a snake_case key that is no option is a typo.
_OPTION_KEY = re.compile(r"[a-z][a-z0-9_]*")


# -- value types: what cdk.json (JSON types) and `-c key=value` (strings) may give --

def _int_text(raw: Any) -> Any:
    if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
        return int(raw)
    return raw  # StrictInt refuses the rest, booleans and floats included


def _bool_text(raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    return raw


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _empty_or(check: Callable[[str], str]) -> Callable[[str], str]:
    return lambda value: check(value) if value else value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _retention_name(value: str) -> str:
    if value not in logs.RetentionDays.__members__:
        raise ValueError(f"must be one of {sorted(logs.RetentionDays.__members__)}")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError("must be an email address or empty")
    return value


def _rate_limits(value: str) -> str:
    try:
        limits = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"must be JSON: {error}") from None
    if not isinstance(limits, dict) or not all(
        v is None or isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limits.values()
    ):
        raise ValueError('must map services to positive integers or null, e.g. {"tmdb": 40}')
    return value


def _listed(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _origins(value: str) -> str:
    for origin in _listed(value):
        parsed = urlparse(origin)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path or origin.endswith("/"):
            raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
    return value


def _client_names(value: str) -> str:
    for client in _listed(value):
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", client):
            raise ValueError(f"{client!r} is not a client name (1-64 of A-Z a-z 0-9 _ -)")
    return value


Count = Annotated[StrictInt, BeforeValidator(_int_text)]
Flag = Annotated[StrictBool, BeforeValidator(_bool_text)]
Url = Annotated[StrictStr, AfterValidator(_http_url)]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


# -- function and stage sizes ----------------------------------------------------

class FunctionSpec(BaseModel):
    """Size of one Lambda function (see docs/architecture.md, function table); the
    bounds are what Lambda accepts, so a bad value fails at synth, not at deploy."""

    model_config = _FROZEN
    timeout_seconds: Count = Field(ge=1, le=900)
    memory_mb: Count = Field(ge=128, le=10240)


class StageSize(FunctionSpec):
    """A queue-fed stage's function and its queue (the `stages` context per folder).
    SQS's bounds: 1-10 per batch, a maximum concurrency of at least 2. The queue's
    visibility (6 x the timeout, at most 5,400 s) fits SQS's 12 h limit."""

    batch_size: Count = Field(ge=1, le=10)
    max_receive_count: Count = Field(ge=1, le=1000)
    max_concurrency: Count = Field(ge=2, le=1000)


@dataclass(frozen=True)
class QueueStageSpec:
    """One queue-fed stage as the stack builds it: its function (lambdas/<directory>) and queue."""

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
_STAGE_SIZES: dict[Stage, StageSize] = {
    # Gandalf is one upstream per session: few concurrent sessions at once.
    Stage.QUERY_ACTIVITIES: StageSize(
        timeout_seconds=300, memory_mb=1024, batch_size=1, max_receive_count=3, max_concurrency=5,
    ),
    # TMDB allows about 50 requests/s per key: 10 chunks in flight stay below it.
    Stage.QUERY_SHOW_DATA: StageSize(
        timeout_seconds=300, memory_mb=512, batch_size=1, max_receive_count=3, max_concurrency=10,
    ),
    # Rotten Tomatoes is crawled politely (few crawlers); its pages are flaky,
    # so one more receive before the DLQ.
    Stage.CRAWL_ROTTEN_TOMATOES: StageSize(
        timeout_seconds=300, memory_mb=512, batch_size=1, max_receive_count=4, max_concurrency=5,
    ),
}
# Every follow-up stage (the AI stages, and any added to tvreport.schema) unless named above.
_FOLLOW_UP_SIZE = StageSize(timeout_seconds=120, memory_mb=512, batch_size=1, max_receive_count=3, max_concurrency=5)
# The `stages` defaults: one per registry entry, by folder, in pipeline order.
DEFAULT_STAGE_SIZES: Mapping[str, StageSize] = {
    spec.folder: _STAGE_SIZES.get(spec.stage, _FOLLOW_UP_SIZE) for spec in STAGES.values()
}

DEFAULT_FUNCTIONS: Mapping[str, FunctionSpec] = {
    "api": FunctionSpec(timeout_seconds=10, memory_mb=512),  # API Gateway's own limit is 29 s; stay well below
    "progress_tracker": FunctionSpec(timeout_seconds=60, memory_mb=256),
    "dead_letters": FunctionSpec(timeout_seconds=60, memory_mb=256),
    "watchdog": FunctionSpec(timeout_seconds=120, memory_mb=256),
}

# Lambda's advice: a visibility timeout of at least 6x the function timeout, so a
# message is not redelivered while retries of a throttled invocation are pending.
VISIBILITY_TIMEOUT_FACTOR = 6

_Spec = TypeVar("_Spec", bound=FunctionSpec)


def _overrides_of(defaults: Mapping[str, _Spec], what: str) -> BeforeValidator:
    """`{"<name>": {"max_concurrency": 20}}` (or that as JSON text, from `-c`): each
    named entry's changes over its own default; entries not named keep theirs."""

    def merge(raw: Any) -> Any:
        raw = _json_object(raw)
        if not isinstance(raw, Mapping):
            return raw  # pydantic names the type it wanted
        unknown = set(raw) - set(defaults)
        if unknown:
            raise ValueError(f"unknown {what}(s) {sorted(unknown)}; known: {sorted(defaults)}")
        merged: dict[str, Any] = {}
        for name, default in defaults.items():
            change = _json_object(raw.get(name))
            if isinstance(change, Mapping):
                change = {**default.model_dump(), **change}
            merged[name] = default if change is None else change
        return merged

    return BeforeValidator(merge)


def _json_object(raw: Any) -> Any:
    if isinstance(raw, str):  # `-c stages='{"<folder>": {...}}'`
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"must be a JSON object: {error}") from None
    return raw


# -- the options -------------------------------------------------------------------

class PipelineConfig(BaseModel):
    """Every deploy-time option of the pipeline stack, with its default and its bounds."""

    model_config = _FROZEN

    threshold_percent: Count = Field(97, ge=1, le=100)
    chunk_size: Count = Field(50, ge=1, le=500)
    # A session's chunks go out in waves of this many, at most two waves ahead of
    # what crawlRottenTomatoes has executed (20 chunks = 1,000 shows in flight per
    # session by default), so one long history cannot queue ahead of every other.
    chunk_wave_size: Count = Field(10, ge=1, le=1000)
    # Distinct shows one session may have: an export past it is refused (422), a
    # Gandalf history past it ends FAILED with TOO_MANY_SHOWS.
    max_shows_per_session: Count = Field(10_000, ge=1, le=1_000_000)
    session_ttl_days: Count = Field(30, ge=1, le=365)
    # Longer than the stage queues' visibility timeout (6 x the longest stage
    # timeout: 6 x 300 s), so a chunk that failed once is retried before the
    # watchdog may end its session (checked below).
    stall_timeout_seconds: Count = Field(3600, ge=60, le=86400)
    # DELETE's second pass (the watchdog) purges stragglers this long after the
    # tombstone. On AWS keep it above the longest stage timeout (300 s), so every
    # invocation that read the session before its tombstone has ended; the local
    # runner, whose stages finish in seconds, sets it short.
    purge_delay_seconds: Count = Field(360, ge=30, le=86400)
    # A follow-up send (tvBFF, starSignPicker) that failed is re-sent by the watchdog
    # after this, then after twice as long each time, at most every 30 minutes. The
    # local runner, whose watchdog sweeps every few seconds, sets it short.
    resend_after_seconds: Count = Field(120, ge=1, le=1800)
    watchdog_rate_minutes: Count = Field(5, ge=1, le=1440)
    show_cache_max_age_days: Count = Field(30, ge=1, le=3650)
    gandalf_url: Url = "https://sauron.gandalf.network/public/gql"
    # Gandalf Connect, where a person links Netflix (the Connect SDKs' web/Android base URL)
    gandalf_connect_url: Url = "https://auth.gandalf.network"
    tmdb_url: Url = "https://api.themoviedb.org"
    rotten_tomatoes_url: Url = "https://www.rottentomatoes.com"
    openai_model: Annotated[StrictStr, AfterValidator(_not_blank)] = "gpt-4o-mini"
    # empty: the OpenAI SDK's default endpoint
    openai_base_url: Annotated[StrictStr, AfterValidator(_empty_or(_http_url))] = ""
    # JSON {"tmdb": 40, "rottentomatoes": 5}: requests/s for the whole deployment, replacing
    # tvreport.upstream_budgets' defaults per service; every calling process spends it
    # through one shared slot bucket (tvreport.budget_bucket). A sandbox may be crawled faster.
    upstream_rate_limits: Annotated[StrictStr, AfterValidator(_empty_or(_rate_limits))] = ""
    api_rate_limit: Count = Field(20, ge=1, le=10000)  # steady requests per second, whole API
    api_burst_limit: Count = Field(40, ge=1, le=5000)  # at least the rate (checked below)
    # Comma-separated origins a browser on another site may call the API from, e.g.
    # "https://app.example.com"; empty: no CORS (the web page is served same-origin).
    api_allowed_origins: Annotated[StrictStr, AfterValidator(_origins)] = ""
    # Comma-separated client names: each gets an API key (header X-Api-Key) in one usage
    # plan with the per-client rate, burst and daily quota below; empty: no keys.
    api_keys: Annotated[StrictStr, AfterValidator(_client_names)] = ""
    api_key_rate_limit: Count = Field(5, ge=1, le=10000)
    api_key_burst_limit: Count = Field(10, ge=1, le=5000)  # at least the key's rate (checked below)
    api_key_quota_per_day: Count = Field(10000, ge=1, le=100_000_000)
    log_retention: Annotated[StrictStr, AfterValidator(_retention_name)] = "ONE_MONTH"  # a RetentionDays name
    stream_batch_size: Count = Field(100, ge=1, le=1000)
    stream_retry_attempts: Count = Field(4, ge=0, le=10000)
    stream_max_record_age_hours: Count = Field(24, ge=1, le=168)
    dead_letters_batch_size: Count = Field(10, ge=1, le=10)  # an SQS batch
    # Alarms (stacks/constructs/monitoring.py) go to one SNS topic; with an address
    # here it gets an email subscription (to be confirmed from the mail). Off: "".
    alarm_email: Annotated[StrictStr, AfterValidator(_empty_or(_email))] = ""
    # A stage message older than this is stuck (default: half the stall timeout,
    # so the alarm fires before the watchdog fails the sessions behind it); at most
    # the stage queues' retention (SQS default, 4 days).
    queue_age_alarm_seconds: Count = Field(1800, ge=60, le=345600)
    stream_iterator_age_alarm_seconds: Count = Field(300, ge=60, le=86400)  # the tracker falls behind its stream
    failed_sessions_alarm_per_hour: Count = Field(5, ge=1, le=100000)  # more sessions FAILED in one hour alarms
    # False: reference existing secrets `<stack>/<credential>` instead of creating
    # them (moto's CloudFormation, used by the local runner, cannot create secrets).
    create_secrets: Flag = True
    # Per stage folder / function: sizes over the defaults above (`-c stages='{"tv_bff": {...}}'`).
    stages: Annotated[dict[str, StageSize], _overrides_of(DEFAULT_STAGE_SIZES, "stage")] = Field(
        default_factory=lambda: dict(DEFAULT_STAGE_SIZES))
    functions: Annotated[dict[str, FunctionSpec], _overrides_of(DEFAULT_FUNCTIONS, "function")] = Field(
        default_factory=lambda: dict(DEFAULT_FUNCTIONS))

    def __init__(self, **options: Any) -> None:
        try:
            super().__init__(**options)
        except ValidationError as error:
            raise ConfigError(_explain(error)) from None

    @classmethod
    def from_context(cls, node: Node) -> PipelineConfig:
        """Build from the app's CDK context; options absent from it keep their default."""
        options = {key: value for key, value in node.get_all_context().items()
                   if _OPTION_KEY.fullmatch(key) and key != SKIP_BUNDLING and value is not None}
        return cls(**options)

    @model_validator(mode="after")
    def _options_agree(self) -> PipelineConfig:
        if self.api_burst_limit < self.api_rate_limit:
            raise ValueError(f"api_burst_limit ({self.api_burst_limit}) must be >= api_rate_limit "
                             f"({self.api_rate_limit})")
        if self.api_key_burst_limit < self.api_key_rate_limit:
            raise ValueError(f"api_key_burst_limit ({self.api_key_burst_limit}) must be >= api_key_rate_limit "
                             f"({self.api_key_rate_limit})")
        visibility = VISIBILITY_TIMEOUT_FACTOR * max(size.timeout_seconds for size in self.stages.values())
        if self.stall_timeout_seconds <= visibility:
            # Otherwise the watchdog could end a session whose failed chunk is still
            # invisible on its queue, waiting to be retried.
            raise ValueError(
                f"stall_timeout_seconds ({self.stall_timeout_seconds}) must be longer than the stage queues' "
                f"visibility timeout ({VISIBILITY_TIMEOUT_FACTOR} x the longest stage timeout = {visibility} s)"
            )
        return self

    @property
    def allowed_origins(self) -> list[str]:
        return _listed(self.api_allowed_origins)

    @property
    def api_clients(self) -> list[str]:
        return _listed(self.api_keys)

    @property
    def queue_stages(self) -> tuple[QueueStageSpec, ...]:
        """One queue-fed stage per registry entry, in pipeline order."""
        return tuple(QueueStageSpec(spec.folder, spec.stage.value, **self.stages[spec.folder].model_dump())
                     for spec in STAGES.values())

    def stage(self, directory: str) -> QueueStageSpec:
        for spec in self.queue_stages:
            if spec.directory == directory:
                return spec
        raise KeyError(directory)


_NESTED: Mapping[str, type[BaseModel]] = {"stages": StageSize, "functions": FunctionSpec}


def _explain(error: ValidationError) -> str:
    """One line per problem, each starting with the option's dotted name."""
    lines = []
    for problem in error.errors(include_url=False):
        loc = [str(part) for part in problem["loc"]]
        where = ".".join(loc)
        if problem["type"] == "extra_forbidden":
            model = _NESTED[loc[0]] if len(loc) == 3 else PipelineConfig
            close = difflib.get_close_matches(loc[-1], model.model_fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {sorted(model.model_fields)}"
            lines.append(f"{where}: unknown option{hint}")
            continue
        message = str(problem["ctx"]["error"]) if problem["type"] == "value_error" else problem["msg"]
        if not loc:  # a rule between options: the message names them
            lines.append(message)
        elif isinstance(problem["input"], Mapping):
            lines.append(f"{where}: {message}")
        else:
            lines.append(f"{where}: {message}, got {problem['input']!r}")
    return "\n".join(lines)
