"""Fault knobs for the sandbox services: latency, errors, timeouts, 429 bursts.

Decisions come from one seeded random.Random under a lock, so a run with the same
seed and the same request order injects the same faults."""
from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0  # added to every request
    error_rate: float = 0.0  # share of requests answered 500/503 (GraphQL: 502)
    timeout_rate: float = 0.0  # share of requests held for timeout_sleep_s before answering
    rate_limit_burst_every: int = 0  # every Nth request gets 429 + Retry-After (0 = never)
    timeout_sleep_s: float = 3.0
    retry_after_s: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "timeout_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.latency_ms < 0 or self.rate_limit_burst_every < 0 or self.timeout_sleep_s < 0:
            raise ValueError("latency, burst period and timeout sleep must not be negative")


class FaultKind(str, Enum):
    RATE_LIMITED = "rate_limited"
    ERROR = "error"
    TIMEOUT = "timeout"


class FaultInjector:
    """Decides, per request, which fault (if any) to inject, and counts them."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._requests = 0
        self.injected: Counter[str] = Counter()

    def decide(self) -> FaultKind | None:
        with self._lock:
            self._requests += 1
            # Draw both numbers every time so one knob does not shift the other's sequence.
            error_draw, timeout_draw = self._random.random(), self._random.random()
            every = self.faults.rate_limit_burst_every
            if every and self._requests % every == 0:
                kind = FaultKind.RATE_LIMITED
            elif error_draw < self.faults.error_rate:
                kind = FaultKind.ERROR
            elif timeout_draw < self.faults.timeout_rate:
                kind = FaultKind.TIMEOUT
            else:
                return None
            self.injected[kind.value] += 1
            return kind

    def error_status(self) -> int:
        """500 or 503, alternating deterministically with the seed."""
        with self._lock:
            return self._random.choice((500, 503))
