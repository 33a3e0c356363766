"""Shared HTTP plumbing for the outside-service clients: one `httpx.Client` per
service, bounded retries (exponential backoff with jitter, `Retry-After` honoured)
on transient failures only, each attempt in a deployment-wide slot of the service's
budget (tvreport.clients.slots), and call/retry metrics."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.exceptions import SchemaValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from tvreport.budget_bucket import TooFarAhead
from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError, UpstreamAuthError, UpstreamError
from tvreport.clients.slots import MAX_WAIT_S, SlotScheduler, slot_scheduler
from tvreport.observability import logger, metrics

T = TypeVar("T")

# Honest identification for the crawler (Rotten Tomatoes has no API).
USER_AGENT = "tvreport-crawler/1.0 (+https://github.com/tvreport/tvreport)"

# How long every process of the deployment holds off after a 429 that names no
# Retry-After (one that does is honoured, up to RetryPolicy.retry_after_cap_s).
PAUSE_AFTER_429_S = 1.0

# httpx logs every request line (with the query string, where TMDB's v3 key lives)
# at INFO; keep it quiet so no credential reaches the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried. Tests pass `sleep=` to record waits
    instead of sleeping."""

    attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep)


# Module setting: what clients use when not given a policy.
default_retry_policy = RetryPolicy()

# Time kept back from the invocation's remaining time for the work after a call
# (storing, counting, handing off).
DEADLINE_RESERVE_MS = 15_000

# The monotonic time every upstream call of this invocation must finish by; None = no
# deadline (outside a handler). A contextvar, so a thread started with the context
# (Gandalf's page pool) sees it.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("upstream_deadline", default=None)


@contextlib.contextmanager
def deadline_within(remaining_ms: Callable[[], int], reserve_ms: int = DEADLINE_RESERVE_MS) -> Iterator[float]:
    """Bound every upstream call made inside by the invocation's remaining time (Lambda's
    `context.get_remaining_time_in_millis`) less a reserve. httpx's timeouts are per
    read: a server trickling a byte at a time never trips them; this does."""
    remaining = remaining_ms()
    deadline = time.monotonic() + max(0, remaining - min(reserve_ms, remaining // 2)) / 1000
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def make_http_client(
    service: str,
    base_url: str,
    timeout_s: float,
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A client for one service. Build it once (lazily) and reuse it across warm
    invocations so connections stay pooled."""
    logger.debug("http client created", extra={"upstream": service, "timeout_s": timeout_s})
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        transport=transport,
        follow_redirects=True,
    )


@functools.cache
def shared_http_client(service: str, base_url: str, timeout_s: float) -> httpx.Client:
    """The process-wide client for (service, base URL): what a client class uses
    when it is not given one."""
    return make_http_client(service, base_url, timeout_s)


# Services whose paths name a show (Rotten Tomatoes pages are /tv/<title slug>):
# only their first path segment is logged.
_PATHS_NAMING_SHOWS = frozenset({"rottentomatoes"})


def loggable_path(service: str, url: str) -> str:
    """The request path for a log line; query strings (search terms) never."""
    path = httpx.URL(url).path
    if service in _PATHS_NAMING_SHOWS:
        return "/" + path.strip("/").split("/", 1)[0]
    return path


def record_metric(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add a metric; outside a Lambda handler (no namespace) an automatic flush
    would raise, which must never break a call."""
    try:
        metrics.add_metric(name=name, unit=unit, value=value)
    except SchemaValidationError:
        metrics.metric_set.clear()


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def check_status(service: str, response: httpx.Response) -> httpx.Response:
    """Classify an HTTP status: 2xx/3xx pass; 408, 429 and 5xx are transient; 401/403
    are a refused credential; any other 4xx cannot succeed."""
    status = response.status_code
    if status < 400:
        return response
    path = response.request.url.path
    if status in (408, 429) or status >= 500:
        raise RetryableUpstreamError(
            f"HTTP {status} on {path}",
            service=service,
            status=status,
            retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status in (401, 403):
        raise UpstreamAuthError(f"HTTP {status} on {path}", service=service, status=status, code="auth")
    raise PermanentUpstreamError(f"HTTP {status} on {path}", service=service, status=status)


class Upstream:
    """One service's calls: a budget slot, request, classify, retry."""

    def __init__(
        self,
        service: str,
        http: httpx.Client,
        retry: RetryPolicy | None = None,
        slots: SlotScheduler | None = None,
    ) -> None:
        self.service = service
        self.http = http
        self._retry = retry
        self._slots = slots

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._retry or default_retry_policy

    def call(
        self,
        method: str,
        url: str,
        parse: Callable[[httpx.Response], T],
        **request_kwargs: Any,
    ) -> T:
        """Send until `parse` returns, retrying RetryableUpstreamError (from the status,
        the transport or `parse` itself) within the policy; raise the last error with
        `attempts` set."""
        policy = self.retry_policy
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts) | _stop_at_deadline,  # type: ignore[operator]  # any callable
            wait=_wait_strategy(policy),
            retry=retry_if_exception_type(RetryableUpstreamError),
            sleep=policy.sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, url, parse, request_kwargs)
        except UpstreamError as exc:
            exc.attempts = retrying.statistics.get("attempt_number", 1)
            record_metric(f"UpstreamFailures_{self.service}")
            logger.warning(
                "upstream call failed",
                extra={
                    "upstream": self.service,
                    "path": loggable_path(self.service, url),
                    "status": exc.status,
                    "code": exc.code,
                    "attempts": exc.attempts,
                    "retryable": exc.retryable,
                },
            )
            raise

    def _attempt(
        self,
        method: str,
        url: str,
        parse: Callable[[httpx.Response], T],
        request_kwargs: dict[str, Any],
    ) -> T:
        slots = self._slots if self._slots is not None else slot_scheduler(self.service)
        with within_budget(slots):
            record_metric(f"UpstreamCalls_{self.service}")
            try:
                response = self._request(method, url, request_kwargs)
            except httpx.TimeoutException as exc:
                left = seconds_left()
                if left is not None and left <= 0:  # the read was cut short by the deadline
                    raise DeadlineExceeded(type(exc).__name__, service=self.service, code="deadline") from exc
                raise RetryableUpstreamError(type(exc).__name__, service=self.service, code="timeout") from exc
            except httpx.TransportError as exc:
                raise RetryableUpstreamError(type(exc).__name__, service=self.service, code="transport") from exc
        if response.status_code == 429:
            pause_after_429(slots, response.headers.get("Retry-After"), self.retry_policy.retry_after_cap_s)
        return parse(response)

    def _request(self, method: str, url: str, request_kwargs: dict[str, Any]) -> httpx.Response:
        """The request, read within the deadline: each read waits at most the time left,
        and the body is read chunk by chunk so a trickle is cut off at the deadline."""
        left = seconds_left()
        if left is None:
            return self.http.request(method, url, **request_kwargs)
        if left <= 0:
            raise DeadlineExceeded("no time left for the call", service=self.service, code="deadline")
        configured = self.http.timeout
        timeout = httpx.Timeout(min(configured.read or left, left), connect=min(configured.connect or left, left))
        request = self.http.build_request(method, url, timeout=timeout, **request_kwargs)
        response = self.http.send(request, stream=True)
        if response.is_stream_consumed:  # an in-memory transport has read it already
            return response
        try:
            body = bytearray()
            for piece in response.iter_raw():
                body += piece
                if time.monotonic() > _deadline.get():  # type: ignore[operator]
                    record_metric(f"UpstreamDeadlines_{self.service}")
                    raise DeadlineExceeded("the reply did not finish before the deadline", service=self.service,
                                           code="deadline")
        finally:
            response.close()
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body),
                              request=request, extensions=response.extensions)

    def _before_retry(self, state: RetryCallState) -> None:
        record_metric(f"UpstreamRetries_{self.service}")
        error = state.outcome.exception() if state.outcome else None
        logger.info(
            "upstream retry",
            extra={
                "upstream": self.service,
                "attempt": state.attempt_number,
                "wait_s": round(state.upcoming_sleep, 3),
                "status": getattr(error, "status", None),
                "code": getattr(error, "code", None),
            },
        )


class DeadlineExceeded(RetryableUpstreamError):
    """The invocation's time ran out for this call: the message is retried later (or the
    stage hands its remaining work on), never waited out here."""


class NoSlotInTime(DeadlineExceeded):
    """The service's budget has no slot before the deadline (or within MAX_WAIT_S): the
    stage hands the rest of its chunk on, or the message is retried later."""


def pause_after_429(slots: SlotScheduler | None, retry_after: str | None, cap_s: float) -> None:
    """Hold the whole deployment off the service for its Retry-After (capped), or
    PAUSE_AFTER_429_S when it names none."""
    if slots is None:
        return
    seconds = parse_retry_after(retry_after)
    slots.pause(PAUSE_AFTER_429_S if seconds is None else min(seconds, cap_s))
    record_metric(f"UpstreamPauses_{slots.service}")


@contextlib.contextmanager
def within_budget(slots: SlotScheduler | None) -> Iterator[None]:
    """Wait for the call's slot (at most the time left), then make the call inside."""
    if slots is None:
        yield
        return
    left = seconds_left()
    if left is not None and left <= 0:
        raise DeadlineExceeded("no time left for the call", service=slots.service, code="deadline")
    try:
        slots.acquire(MAX_WAIT_S if left is None else min(MAX_WAIT_S, left))
    except TooFarAhead as exc:
        record_metric(f"UpstreamNoSlot_{slots.service}")
        raise NoSlotInTime(str(exc), service=slots.service, code="budget") from exc
    try:
        yield
    finally:
        slots.release()


def _stop_at_deadline(state: RetryCallState) -> bool:
    """tenacity stop: no retry whose wait would end past the deadline."""
    if isinstance(state.outcome.exception() if state.outcome else None, DeadlineExceeded):
        return True
    left = seconds_left()
    return left is not None and left <= state.upcoming_sleep


def _wait_strategy(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_max_s)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            # The service said when; waiting less only earns another 429.
            return min(retry_after, policy.retry_after_cap_s)
        return backoff(state)

    return wait

