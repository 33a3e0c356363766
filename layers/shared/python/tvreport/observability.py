"""One place for the Powertools logger, tracer and metrics every stage uses, and the
names of the metrics the stack's alarms and dashboard read (stacks/constructs/
monitoring.py imports them, so an emitter and its alarm cannot drift apart).

The service name comes from POWERTOOLS_SERVICE_NAME (set per function by CDK); it
is also the `service` dimension Powertools puts on every metric, so a metric is
told apart by the function that emitted it."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.exceptions import SchemaValidationError

# Only AWS SDK calls get X-Ray subsegments (table, queue, operation). The default
# would patch httpx too, whose subsegments keep each request's path: a Rotten
# Tomatoes page is /tv/<title slug>, a title in X-Ray for 30 days.
TRACED_MODULES = ("botocore",)

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()

# Metric names (namespace POWERTOOLS_METRICS_NAMESPACE, dimension service=<function>).
SESSIONS_FAILED = "SessionsFailed"  # SessionRepository.fail ended a session
SESSIONS_COMPLETED = "SessionsCompleted"  # SessionRepository.complete ended a session
UPSTREAM_AUTH_FAILURES = "UpstreamAuthFailures"  # an outside service refused our credentials (the alarm)
UPSTREAM_AUTH_FAILED_PREFIX = "UpstreamAuthFailed"  # `<prefix>_<upstream>`: which service refused
CHUNKS_DONE = "ChunksDone"
DEAD_LETTERS = "DeadLetters"
UNREADABLE_DEAD_LETTERS = "UnreadableDeadLetters"  # a DLQ body that is no queue's model (poison)
# `<prefix>_<upstream>` per call, retry and final failure (tvreport.clients.http).
UPSTREAM_CALLS_PREFIX = "UpstreamCalls"
UPSTREAM_RETRIES_PREFIX = "UpstreamRetries"
UPSTREAM_FAILURES_PREFIX = "UpstreamFailures"


def count(name: str, value: float = 1) -> None:
    """Add a count; outside a Lambda handler (no namespace) an automatic flush
    would raise, which must never break the write that is being counted."""
    try:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    except SchemaValidationError:
        metrics.metric_set.clear()


def count_auth_failure(service: str) -> None:
    """An outside service refused our credentials: the alarm's metric (no extra
    dimension, so the alarm's sum over functions sees it) and one naming the service."""
    count(UPSTREAM_AUTH_FAILURES)
    count(f"{UPSTREAM_AUTH_FAILED_PREFIX}_{service}")
