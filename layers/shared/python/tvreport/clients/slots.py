"""A process's way to a service's deployment-wide slots (tvreport.budget_bucket): the
chunk's threads share one scheduler per service, which reserves several slots in one
write when several threads need one, hands them out earliest first and sleeps each
thread until its slot. A slot whose time has passed by more than half the margin is
dropped unused (sent that late it could crowd the next second's window).

An invocation working for a bulk session (`yielding_budgets(True)`, set by the stage)
yields: while other sessions hold the service it sleeps until their hold ends, for at
most MAX_YIELD_S per reservation, then reserves beside them (slower, never starved)."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from tvreport import env_keys
from tvreport.budget_bucket import BudgetBucket, Held, TooFarAhead
from tvreport.settings import ConfigError
from tvreport.upstream_budgets import SLOT_MARGIN_S, budgets, slot_spacing

# Slots one write may reserve: at most the threads of this process that need one now
# or hold one (most ask again after their call; the stages run at most 8 at once,
# tvreport.stages.in_order). A slot reserved for a thread that never asks again is
# dropped unused: at most this many less one per chunk part.
MAX_SLOTS_PER_WRITE = 8
# The longest a request waits for its slot outside any deadline (inside one, the time
# left); a bucket further ahead raises TooFarAhead and the message is retried later.
MAX_WAIT_S = 60.0
LATE_TOLERANCE_S = SLOT_MARGIN_S / 2
# Slots a request gives up when its sleep ends later than LATE_TOLERANCE_S past them.
LATE_WAKE_RETAKES = 3
# A new run of slots starts this far ahead of now: twice the bucket write's recent round
# trip, so the slots are not past when its answer comes (a slow write would otherwise
# return stale slots, dropped, reserved again: a livelock under load). Capped.
MAX_LEAD_S = 1.0
# The longest a bulk session's reservation yields to others before it takes its turn
# beside them: a stream of light sessions slows a long one, never stops it.
MAX_YIELD_S = 20.0
HOLD_STEP_S = 0.001  # a yielder wakes this far past a hold's end (one ending on its slot still refuses it)
# Set per invocation (the chunk's threads run in copies of its context).
_yields: contextvars.ContextVar[bool] = contextvars.ContextVar("yields_budgets", default=False)


@contextlib.contextmanager
def yielding_budgets(yields: bool) -> Iterator[None]:
    """Within: this invocation's reservations yield to other sessions' holds (`yields`,
    a bulk session) or set a hold of their own (not `yields`)."""
    token = _yields.set(yields)
    try:
        yield
    finally:
        _yields.reset(token)


class SlotScheduler:
    """Thread-safe. `clock` is epoch seconds (shared by every process), `sleep` waits:
    tests pass their own."""

    def __init__(self, service: str, budget: float, bucket: BudgetBucket,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_slots_per_write: int = MAX_SLOTS_PER_WRITE) -> None:
        self.service, self.budget, self.bucket = service, budget, bucket
        self.spacing = slot_spacing(budget)
        self._clock, self._sleep, self._max_batch = clock, sleep, max(1, max_slots_per_write)
        self._ready = threading.Condition()
        self._slots: deque[float] = deque()  # reserved, not yet handed out, earliest first
        self._waiting = 0  # threads asking for a slot
        self._holding = 0  # threads between being handed a slot and the end of their call
        self._reserving = False  # one write at a time per process
        self._write_s = 0.0  # the bucket write's round trip, smoothed
        self.reserved = self.used = self.dropped = 0
        self.yielded_s = 0.0  # time spent waiting for other sessions' holds to end

    def acquire(self, max_wait_s: float = MAX_WAIT_S) -> float:
        """This request's slot, once it has come (the caller sends, then `release()`s).
        Raises TooFarAhead when the next free slot is more than `max_wait_s` away."""
        yield_until = self._clock() + MAX_YIELD_S  # for the whole request, retakes included
        for retake in range(LATE_WAKE_RETAKES + 1):
            at = self._take(max_wait_s, yield_until)
            delay = at - self._clock()
            if delay > 0:
                self._sleep(delay)
            # Woken too late (a loaded host): sent now it could crowd the next second. After
            # a few, send anyway rather than stall.
            if self._clock() - at <= LATE_TOLERANCE_S or retake == LATE_WAKE_RETAKES:
                return at
            with self._ready:
                self._holding -= 1
                self.used -= 1
                self.dropped += 1
        raise AssertionError("unreachable")

    def release(self) -> None:
        with self._ready:
            self._holding -= 1

    @contextlib.contextmanager
    def slot(self, max_wait_s: float = MAX_WAIT_S) -> Iterator[float]:
        at = self.acquire(max_wait_s)
        try:
            yield at
        finally:
            self.release()

    def _take(self, max_wait_s: float, yield_until: float) -> float:
        with self._ready:
            self._waiting += 1
            try:
                while True:
                    now = self._clock()
                    while self._slots and self._slots[0] < now - LATE_TOLERANCE_S:
                        self._slots.popleft()
                        self.dropped += 1
                    if self._slots:
                        self.used += 1
                        self._holding += 1
                        return self._slots.popleft()
                    if self._reserving:
                        self._ready.wait()
                        continue
                    # Those waiting now, and those holding a slot (most ask again).
                    wanted = min(self._max_batch, self._waiting + self._holding)
                    self._reserving = True
                    self._ready.release()
                    try:
                        first = self._reserve(wanted, now, max_wait_s, yield_until)
                    finally:
                        self._ready.acquire()
                        self._reserving = False
                        self._ready.notify_all()
                    self._slots.extend(first + i * self.spacing for i in range(wanted))
                    self.reserved += wanted
            finally:
                self._waiting -= 1

    def _reserve(self, wanted: int, now: float, max_wait_s: float, yield_until: float) -> float:
        bulk, latest = _yields.get(), now + max_wait_s
        yields = bulk and self._clock() < yield_until
        while True:
            asked = self._clock()
            lead = min(MAX_LEAD_S, 2 * self._write_s)
            try:
                first = self.bucket.reserve(self.service, wanted, self.spacing, asked + lead, latest,
                                            holds=not bulk, yields=yields)
            except Held as held:
                self._timed_write(asked)
                if held.until > latest:
                    raise TooFarAhead(self.service, held.until - now) from held
                if self._clock() >= yield_until:
                    yields = False  # its turn beside them, without holding them off in turn
                    continue
                pause = max(HOLD_STEP_S, min(held.until + HOLD_STEP_S, yield_until) - self._clock())
                self._sleep(pause)
                self.yielded_s += pause
                continue
            self._timed_write(asked)
            return first

    def _timed_write(self, asked: float) -> None:
        took = max(0.0, self._clock() - asked)
        self._write_s = max(took, 0.8 * self._write_s + 0.2 * took)  # up at once, down slowly

    def pause(self, seconds: float) -> None:
        """The service said slow down: no slot before now + seconds, for the deployment."""
        until = self._clock() + seconds
        self.bucket.push(self.service, until)
        with self._ready:
            while self._slots and self._slots[0] < until:
                self._slots.popleft()
                self.dropped += 1


def budget_of(service: str) -> float | None:
    """The deployment's budget of a service for this function (env UPSTREAM_RATE_LIMITS
    over tvreport.upstream_budgets' defaults)."""
    raw = os.environ.get(env_keys.UPSTREAM_RATE_LIMITS) or "{}"
    try:
        overrides = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"{env_keys.UPSTREAM_RATE_LIMITS} is not JSON: {error}") from error
    return budgets(overrides).get(service)


@functools.cache
def slot_scheduler(service: str) -> SlotScheduler | None:
    """One scheduler per service per process; None for a service without a budget."""
    budget = budget_of(service)
    if budget is None:
        return None
    table = os.environ.get(env_keys.UPSTREAM_BUDGETS_TABLE)
    if not table:
        raise ConfigError(f"{service} has a budget ({budget}/s) but {env_keys.UPSTREAM_BUDGETS_TABLE} is not set")
    return SlotScheduler(service, budget, BudgetBucket(table))
