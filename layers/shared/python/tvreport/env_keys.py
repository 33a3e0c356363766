"""Every environment-variable name, once. Imported by the CDK stack (which sets
them) and by the runtime settings (which read and validate them)."""
from tvreport.schema import STAGES, Stage

SESSIONS_TABLE = "SESSIONS_TABLE"
VIEWING_TABLE = "VIEWING_TABLE"
SHOW_CACHE_TABLE = "SHOW_CACHE_TABLE"
# The shared slot bucket of the budgeted services (tvreport.budget_bucket), and the
# deployment's budgets (JSON {"tmdb": 40}) of the services a function calls.
UPSTREAM_BUDGETS_TABLE = "UPSTREAM_BUDGETS_TABLE"
UPLOADS_BUCKET = "UPLOADS_BUCKET"

# Each stage's queue URL is named by its registry entry (StageSpec.queue_url_key);
# these are the names the fixed stages' own code reads.
QUERY_ACTIVITIES_QUEUE_URL = STAGES[Stage.QUERY_ACTIVITIES].queue_url_key
QUERY_SHOW_DATA_QUEUE_URL = STAGES[Stage.QUERY_SHOW_DATA].queue_url_key
CRAWL_RT_QUEUE_URL = STAGES[Stage.CRAWL_ROTTEN_TOMATOES].queue_url_key
TV_BFF_QUEUE_URL = STAGES[Stage.TV_BFF].queue_url_key
STAR_SIGN_QUEUE_URL = STAGES[Stage.STAR_SIGN].queue_url_key

PROGRESS_THRESHOLD = "PROGRESS_THRESHOLD"  # percent, e.g. "97"
CHUNK_SIZE = "CHUNK_SIZE"  # shows per chunk, e.g. "50"
CHUNK_WAVE_SIZE = "CHUNK_WAVE_SIZE"  # chunks released per wave; two waves in flight per session at most
MAX_SHOWS_PER_SESSION = "MAX_SHOWS_PER_SESSION"  # distinct shows one session may have
SESSION_TTL_DAYS = "SESSION_TTL_DAYS"
STALL_TIMEOUT_SECONDS = "STALL_TIMEOUT_SECONDS"  # watchdog: no progress for this long
PURGE_DELAY_SECONDS = "PURGE_DELAY_SECONDS"  # watchdog: second DELETE pass this long after the tombstone
RESEND_AFTER_SECONDS = "RESEND_AFTER_SECONDS"  # tracker, watchdog: first re-send of a failed follow-up send
SHOW_CACHE_MAX_AGE_DAYS = "SHOW_CACHE_MAX_AGE_DAYS"

GANDALF_URL = "GANDALF_URL"
GANDALF_CONNECT_URL = "GANDALF_CONNECT_URL"  # where the API sends people to link Netflix
TMDB_URL = "TMDB_URL"
ROTTEN_TOMATOES_URL = "ROTTEN_TOMATOES_URL"
OPENAI_BASE_URL = "OPENAI_BASE_URL"  # optional; empty = the SDK default
OPENAI_MODEL = "OPENAI_MODEL"

# dead_letters: JSON object mapping each stage DLQ's ARN to its stored stage name
# (a tvreport.schema.Stage value).
DEAD_LETTER_SOURCES = "DEAD_LETTER_SOURCES"

# Secrets are passed by reference (a Secrets Manager secret name); the value is
# read at run time through Powertools parameters. The plain-value keys below are
# read only when no secret name is set (tests; the local runner uses Secrets Manager).
GANDALF_PRIVATE_KEY_SECRET = "GANDALF_PRIVATE_KEY_SECRET"
TMDB_API_KEY_SECRET = "TMDB_API_KEY_SECRET"
OPENAI_API_KEY_SECRET = "OPENAI_API_KEY_SECRET"
GANDALF_PRIVATE_KEY = "GANDALF_PRIVATE_KEY"
TMDB_API_KEY = "TMDB_API_KEY"
OPENAI_API_KEY = "OPENAI_API_KEY"

POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
# Powertools' tracing switch: the stack sets it per function (pipeline_function.sdk_traced);
# tvreport.observability reads it to decide whether to load the X-Ray SDK at all.
POWERTOOLS_TRACE_DISABLED = "POWERTOOLS_TRACE_DISABLED"
PYDANTIC_DISABLE_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"  # read by pydantic at its first model build

# JSON {"tmdb": 40}: the deployment's budgets (requests/s, all processes together) of
# the services this function calls, spent through UPSTREAM_BUDGETS_TABLE; a service
# not named keeps tvreport.upstream_budgets' default.
UPSTREAM_RATE_LIMITS = "UPSTREAM_RATE_LIMITS"

# api: comma-separated origins allowed by CORS (browsers on other sites); empty: none.
API_ALLOWED_ORIGINS = "API_ALLOWED_ORIGINS"
