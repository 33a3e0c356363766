"""The declared schema: every stage once, with each of its names, and the tables'
key, index and TTL attribute names.

Pure (no AWS SDK, no I/O): the stack, the runtime (repositories, progress rules,
tracker, watchdog, dead letters), the API, the local runner and the tests read
their stage names and wiring from here, so a stage cannot be half-declared.

A stage's names, each spelled here only:
- `Stage` value: as stored (ledger keys, the DLQ mapping, AI-stage messages);
- `folder`: `lambdas/<folder>/handler.py`, the construct id stem, the CDK `stages` key;
- `label`: the API's name for it (GET /sessions/{id} `stages`);
- `counter_prefix` (chunked stages): `<prefix>_shows_done`, `<prefix>_chunks_failed`, ...;
- `trigger_flag` (follow-up stages): `<flag>_requested_at`, `_sent_at`, `_done_at`, ...;
- `result_attribute` (follow-up stages): where its result is stored, `<value>_result`,
  and `result_type` the model it is stored and read as (tvreport.results);
- `queue_url_key`: the environment variable holding its queue's URL;
- `upstream`: the outside service it calls (the stack gives it that service's URL,
  secret and rate limits).

A follow-up stage gets from the stack, with no other edit there: a queue and DLQ
(sized as the AI stages unless `stages` context says otherwise), the sessions and
report-reading table grants, its queue URL in the tracker's and the watchdog's
environment, and its DLQ in dead_letters' sources.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from tvreport.results import BffResult, StageResult, StarSignResult


class Stage(str, Enum):
    """Stage names as stored (ledger keys, counters, DLQ mapping)."""

    QUERY_ACTIVITIES = "query_activities"
    QUERY_SHOW_DATA = "query_show_data"
    CRAWL_ROTTEN_TOMATOES = "crawl_rotten_tomatoes"
    TV_BFF = "tv_bff"
    STAR_SIGN = "star_sign"


class Trigger(Enum):
    """When the tracker claims and sends a follow-up stage (tvreport.progress.decide)."""

    SHOW_DATA_COMPLETE = "show_data_complete"  # every show-data chunk executed (done or dead-lettered)
    THRESHOLD = "threshold"  # every chunked stage (show data, Rotten Tomatoes) processed to the threshold


@dataclass(frozen=True)
class StageSpec:
    stage: Stage
    folder: str
    label: str
    counter_prefix: str | None = None  # chunked stages only
    trigger_flag: str | None = None  # follow-up stages only
    trigger: Trigger | None = None  # follow-up stages only
    required_before_completed: bool = False  # the session is COMPLETED only once it is done
    report_key: str | None = None  # follow-up stages: its result's key in GET /sessions/{id}/report
    queue_env: str | None = None  # when the queue URL's variable is not <VALUE>_QUEUE_URL
    # The outside service it calls, as the stack wires it (URL, secret, rate limits)
    # and the metrics name it: "gandalf", "tmdb", "rottentomatoes", "openai"; None: none.
    upstream: str | None = None
    result_type: type[StageResult] = StageResult  # follow-up stages: what its result holds

    def __post_init__(self) -> None:
        if (self.trigger_flag is None) != (self.trigger is None) or (self.trigger_flag is None) != (
            self.report_key is None
        ):
            raise ValueError(f"{self.stage.value}: a follow-up stage has a trigger flag, a trigger and a report key")
        if self.counter_prefix is not None and self.trigger_flag is not None:
            raise ValueError(f"{self.stage.value}: a stage is chunked or a follow-up, not both")

    @property
    def follow_up(self) -> bool:
        """Claimed and sent by the tracker (re-sent by the watchdog) once its trigger holds."""
        return self.trigger_flag is not None

    @property
    def chunked(self) -> bool:
        return self.counter_prefix is not None

    @property
    def result_attribute(self) -> str:
        return f"{self.stage.value}_result"

    @property
    def queue_url_key(self) -> str:
        return self.queue_env or f"{self.stage.value.upper()}_QUEUE_URL"


_SPECS = (
    StageSpec(Stage.QUERY_ACTIVITIES, folder="query_activities", label="queryActivities", upstream="gandalf"),
    StageSpec(Stage.QUERY_SHOW_DATA, folder="query_show_data", label="queryShowData", counter_prefix="sd",
              upstream="tmdb"),
    StageSpec(Stage.CRAWL_ROTTEN_TOMATOES, folder="crawl_rotten_tomatoes", label="crawlRottenTomatoes",
              counter_prefix="rt", queue_env="CRAWL_RT_QUEUE_URL", upstream="rottentomatoes"),
    StageSpec(Stage.TV_BFF, folder="tv_bff", label="tvBFF", trigger_flag="tvbff",
              trigger=Trigger.SHOW_DATA_COMPLETE, required_before_completed=True, report_key="tvBff",
              upstream="openai", result_type=BffResult),
    StageSpec(Stage.STAR_SIGN, folder="star_sign_picker", label="starSignPicker", trigger_flag="starsign",
              trigger=Trigger.THRESHOLD, required_before_completed=True, report_key="starSign",
              upstream="openai", result_type=StarSignResult),
)

# In pipeline order (the API's `stages` object and the stack's queues keep it).
STAGES: Mapping[Stage, StageSpec] = MappingProxyType({spec.stage: spec for spec in _SPECS})
FOLLOW_UPS: tuple[StageSpec, ...] = tuple(spec for spec in _SPECS if spec.follow_up)
CHUNKED: tuple[StageSpec, ...] = tuple(spec for spec in _SPECS if spec.chunked)
REQUIRED_BEFORE_COMPLETED: frozenset[Stage] = frozenset(s.stage for s in _SPECS if s.required_before_completed)


def spec(stage: Stage) -> StageSpec:
    return STAGES[stage]


def result_attribute(stage: Stage) -> str:
    """Where a follow-up stage's result is stored on the session item."""
    return STAGES[stage].result_attribute


def _check_registry() -> None:
    """Every Stage has one spec, and no two stages share a name of any kind."""
    missing = set(Stage) - set(STAGES)
    if missing:
        raise ValueError(f"stages without a spec: {sorted(s.value for s in missing)}")
    for name in ("folder", "label", "counter_prefix", "trigger_flag", "report_key", "queue_url_key"):
        values = [getattr(s, name) for s in _SPECS if getattr(s, name) is not None]
        if len(values) != len(set(values)):
            raise ValueError(f"two stages share a {name}: {values}")


_check_registry()


# -- tables ---------------------------------------------------------------------
# Key attributes of the four tables, the secondary indexes and the TTL attribute:
# the stack's DataStores declares them, the repositories read and write them.
SESSIONS_PK, SESSIONS_SK = "pk", "sk"
VIEWING_PK, VIEWING_SK = "session_id", "show_key"
SHOW_CACHE_PK = "show_id"
# One item per budgeted service: its next free request slot (tvreport.budget_bucket).
UPSTREAM_BUDGETS_PK = "service"
TTL_ATTRIBUTE = "expires_at"  # epoch seconds; DynamoDB deletes the item after it

# Sparse, sharded index of crunching sessions (the watchdog's sweep), keys only.
ACTIVE_SESSIONS_INDEX = "active-sessions"
ACTIVE_ATTRIBUTE, ACTIVE_SORT = "active", "created_at"
# The show cache by IMDB id (a viewing record that names one).
BY_IMDB_INDEX = "by-imdb"
IMDB_ATTRIBUTE = "imdb_id"

UPLOADS_PREFIX = "uploads/"  # every object of the uploads bucket sits under it
UPLOADS_INCOMING_PREFIX = f"{UPLOADS_PREFIX}incoming/"  # POST /uploads targets, before a session takes one


def upload_key(session_id: str) -> str:
    """A session's export, where the stages read it and DELETE removes it."""
    return f"{UPLOADS_PREFIX}{session_id}.csv"


def incoming_upload_key(upload_id: str) -> str:
    # Not uploads/<id>.csv: that is where sessions keep their exports, and an uploadId
    # must never name another session's export.
    return f"{UPLOADS_INCOMING_PREFIX}{upload_id}.csv"
