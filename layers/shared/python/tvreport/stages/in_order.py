"""A chunk's shows worked on a few at a time, their results handed back in the chunk's
order, so what a stage forwards and counts never depends on which call finished first.

Threads, not processes: the work is waiting on HTTP. Each thread runs in a copy of the
caller's context (the invocation's upstream deadline is a contextvar), and shares the
process's httpx client and slot scheduler (both thread-safe), so the deployment's
budget for a service holds however many threads ask."""
from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class InOrder(Generic[T, R]):
    """`work(item)` for each item, at most `parallelism` in flight. Before submitting
    each item after the first, `gate(index)` may return a reason to submit no more
    (cancelled, time short): the items already submitted are still handed back, and
    `stopped_at` is the first index never submitted. Leaving the loop early cancels
    what has not started and waits for what has. The first item runs alone: it makes
    the clients (and reads their secret) once, and a refused credential costs one call,
    not one per thread."""

    def __init__(self, items: Sequence[T], work: Callable[[T], R], parallelism: int,
                 gate: Callable[[int], str | None]) -> None:
        self._items, self._work, self._gate = items, work, gate
        self._parallelism = max(1, parallelism)
        self.stop_reason: str | None = None
        self.stopped_at: int | None = None
        self._next = 0

    def __iter__(self) -> Iterator[tuple[int, Future[R]]]:
        pending: deque[tuple[int, Future[R]]] = deque()
        with ThreadPoolExecutor(max_workers=self._parallelism, thread_name_prefix="chunk") as pool:
            try:
                limit = 1
                while True:
                    self._fill(pool, pending, limit)
                    if not pending:
                        return
                    yield pending.popleft()
                    limit = self._parallelism
            finally:
                for _, future in pending:
                    future.cancel()

    def _fill(self, pool: ThreadPoolExecutor, pending: deque[tuple[int, Future[R]]], limit: int) -> None:
        while self.stop_reason is None and self._next < len(self._items) and len(pending) < limit:
            index = self._next
            reason = self._gate(index) if index else None
            if reason is not None:
                self.stop_reason, self.stopped_at = reason, index
                return
            context = contextvars.copy_context()
            pending.append((index, pool.submit(context.run, self._work, self._items[index])))
            self._next += 1
