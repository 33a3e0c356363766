"""One place for the Powertools logger, tracer and metrics every stage uses, and the
names of the metrics the stack's alarms and dashboard read (stacks/constructs/
monitoring.py imports them, so an emitter and its alarm cannot drift apart).

The service name comes from POWERTOOLS_SERVICE_NAME (set per function by CDK); it
is also the `service` dimension Powertools puts on every metric, so a metric is
told apart by the function that emitted it.

The tracer is Powertools' Tracer only where X-Ray SDK tracing is on (docs/architecture.md,
"Tracing"): Tracer() imports the X-Ray SDK and patches botocore even when disabled,
about 0.1x of the import floor (docs/BENCHMARKS.md). Where it is off (POWERTOOLS_TRACE_DISABLED:
set by the stack on the functions that do without SDK subsegments, by the local runtime
and the tests; or outside Lambda, where Powertools turns it off too) the same decorators
return the function unchanged."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.exceptions import SchemaValidationError
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from tvreport import env_keys

# Only AWS SDK calls get X-Ray subsegments (table, queue, operation). The default
# would patch httpx too, whose subsegments keep each request's path: a Rotten
# Tomatoes page is /tv/<title slug>, a title in X-Ray for 30 days.
TRACED_MODULES = ("botocore",)

class Untraced:
    """Tracer's decorators and annotations where nothing is traced: a disabled
    Powertools Tracer wraps each call in subsegments that go nowhere; this adds nothing."""

    def capture_lambda_handler(self, lambda_handler: Callable | None = None, **_options: Any) -> Any:
        return lambda_handler if lambda_handler is not None else (lambda function: function)

    capture_method = capture_lambda_handler

    def put_annotation(self, key: str, value: Any) -> None:
        return None


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' rule, without importing the SDK: off when POWERTOOLS_TRACE_DISABLED
    is true or outside Lambda (no LAMBDA_TASK_ROOT). Where this says on, Tracer still
    applies its own further checks (SAM and Chalice local)."""
    disabled = resolve_truthy_env_var_choice(env=environ.get(env_keys.POWERTOOLS_TRACE_DISABLED, "false"))
    return not disabled and bool(environ.get("LAMBDA_TASK_ROOT"))


def make_tracer(enabled: bool) -> Tracer | Untraced:
    return Tracer(patch_modules=TRACED_MODULES) if enabled else Untraced()


logger = Logger()
tracer = make_tracer(tracing_enabled())
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
