"""InOrder (stages/in_order.py), the chunk stages' parallel loop: results come back in
the chunk's order whatever finishes first, the first item runs alone, no more than
`parallelism` run at once, the gate stops submission, and each thread sees the
caller's context (the invocation's deadline is a contextvar)."""
from __future__ import annotations

import contextvars
import threading

from tvreport.stages.in_order import InOrder

DEADLINE: contextvars.ContextVar[str] = contextvars.ContextVar("deadline", default="unset")


def test_results_come_back_in_order_when_a_later_item_finishes_first() -> None:
    third_done = threading.Event()
    running: list[int] = []
    peak = 0
    lock = threading.Lock()

    def work(n: int) -> tuple[int, str, int]:
        nonlocal peak
        with lock:
            running.append(n)
            peak = max(peak, len(running))
            alone = len(running)
        if n == 1:
            assert third_done.wait(timeout=10), "item 3 never ran while item 1 waited"
        if n == 3:
            third_done.set()
        with lock:
            running.remove(n)
        return n, DEADLINE.get(), alone

    DEADLINE.set("in 60 s")
    shows = InOrder([0, 1, 2, 3, 4], work, parallelism=3, gate=lambda _: None)
    results = [outcome.result() for _, outcome in shows]

    assert [n for n, _, _ in results] == [0, 1, 2, 3, 4]
    assert {deadline for _, deadline, _ in results} == {"in 60 s"}
    assert results[0][2] == 1  # the first item ran alone
    assert 2 <= peak <= 3 and shows.stop_reason is None


def test_the_gate_stops_submission_and_says_where() -> None:
    asked: list[int] = []

    def gate(index: int) -> str | None:
        asked.append(index)
        return "cancelled" if index == 2 else None

    shows = InOrder(["a", "b", "c", "d"], str.upper, parallelism=1, gate=gate)
    assert [(i, outcome.result()) for i, outcome in shows] == [(0, "A"), (1, "B")]
    assert (shows.stop_reason, shows.stopped_at) == ("cancelled", 2)
    assert asked == [1, 2]  # never asked before the first item


def test_a_failed_item_is_handed_back_as_its_error() -> None:
    def work(n: int) -> int:
        if n == 1:
            raise ValueError("no answer")
        return n

    outcomes = [(i, outcome.exception()) for i, outcome in InOrder([0, 1, 2], work, 2, lambda _: None)]
    assert [i for i, _ in outcomes] == [0, 1, 2]
    assert isinstance(outcomes[1][1], ValueError) and outcomes[0][1] is None and outcomes[2][1] is None
