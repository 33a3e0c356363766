"""A chunk part's gate: cancellation first, then a hand-off when time is short or the slice is used."""
from tvreport.stages.part_gate import BULK_TIME_SLICE_S, HANDOFF_MARGIN_MS, part_gate


class Sessions:
    def __init__(self) -> None:
        self.crunching_now = True

    def crunching(self, session_id: str) -> object | None:
        return object() if self.crunching_now else None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_part_hands_off_once_its_slice_is_used_and_not_before():
    clock = Clock()
    gate = part_gate(Sessions(), "s", lambda: 300_000, can_hand_off=True, time_slice_s=15, clock=clock)
    clock.now += 14.9
    assert gate(1) is None
    clock.now += 0.1
    assert gate(2) == "time"


def test_short_time_hands_off_inside_the_slice():
    gate = part_gate(Sessions(), "s", lambda: HANDOFF_MARGIN_MS - 1, can_hand_off=True, clock=Clock())
    assert gate(1) == "time"


def test_without_a_queue_to_hand_off_to_only_cancellation_stops_a_part():
    sessions, clock = Sessions(), Clock()
    gate = part_gate(sessions, "s", lambda: 0, can_hand_off=False, time_slice_s=0, clock=clock)
    clock.now += 60
    assert gate(1) is None
    sessions.crunching_now = False
    assert gate(2) == "cancelled"


def test_cancellation_wins_over_a_hand_off():
    sessions = Sessions()
    sessions.crunching_now = False
    gate = part_gate(sessions, "s", lambda: 0, can_hand_off=True, time_slice_s=0, clock=Clock())
    assert gate(1) == "cancelled"


def test_a_bulk_sessions_part_takes_the_shorter_slice():
    clock = Clock()
    light = part_gate(Sessions(), "s", lambda: 300_000, can_hand_off=True, time_slice_s=15, clock=clock)
    bulk = part_gate(Sessions(), "s", lambda: 300_000, can_hand_off=True, time_slice_s=15, bulk=True, clock=clock)
    clock.now += BULK_TIME_SLICE_S - 0.1
    assert (light(1), bulk(1)) == (None, None)
    clock.now += 0.1
    assert (light(2), bulk(2)) == (None, "time")


def test_a_bulk_slice_never_lengthens_a_shorter_one():
    clock = Clock()
    gate = part_gate(Sessions(), "s", lambda: 300_000, can_hand_off=True, time_slice_s=0, bulk=True, clock=clock)
    assert gate(1) == "time"
