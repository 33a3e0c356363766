"""The deployment-wide slot bucket (tvreport.budget_bucket, tvreport.clients.slots) on
the synthesized template's table in moto: the slot arithmetic with an injected clock
(spacing, several slots in one write, an idle bucket, a bucket too far ahead, a 429's
push), and several "processes" of several threads reserving at once on the local
runtime's moto server, whose slots never overlap and of which none is lost."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from botocore.exceptions import ClientError

from local.moto_aws import start_moto
from tests.support.template import create_tables
from tests.unit.clients.support import ScriptedTransport
from tvreport import aws, env_keys
from tvreport.budget_bucket import HELD, HOLD_GRACE_S, TAT, BudgetBucket, Held, TooFarAhead
from tvreport.clients import slots
from tvreport.clients.errors import RetryableUpstreamError
from tvreport.clients.http import (
    PAUSE_AFTER_429_S,
    DeadlineExceeded,
    NoSlotInTime,
    RetryPolicy,
    Upstream,
    check_status,
    make_http_client,
)
from tvreport.clients.slots import LATE_TOLERANCE_S, SlotScheduler
from tvreport.upstream_budgets import SLOT_MARGIN_S, slot_spacing

T0 = 1_800_000_000.0  # an epoch second for the injected clock


def approx(expected):  # a double near 1.8e9 s resolves about 0.2 µs
    return pytest.approx(expected, abs=1e-6)

RT_SPACING = slot_spacing(5)  # 0.21 s: Rotten Tomatoes' 5/s with the 5 % margin


class Clock:
    """Epoch seconds that move only when someone sleeps: the scheduler's and the
    retry policy's clock and sleep at once."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def bucket(moto_tables) -> BudgetBucket:
    return BudgetBucket(moto_tables["upstream_budgets"])


def _tat(bucket: BudgetBucket, service: str) -> float:
    item = aws.table(bucket.table_name).get_item(Key={"service": service}).get("Item")
    return float(item[TAT])


def test_the_spacing_keeps_any_second_within_the_budget_even_a_margin_late():
    assert round(RT_SPACING, 9) == 0.22 and round(1 / RT_SPACING, 2) == 4.55
    for budget in (1, 5, 40, 1000):
        spacing = slot_spacing(budget)
        # budget + 1 slots span budget spacings: more than a second even when the last is
        # sent on time and the first a full margin late
        assert budget * spacing - SLOT_MARGIN_S >= 1 - 1e-9


def test_an_idle_bucket_starts_at_now_and_each_next_slot_is_one_spacing_on(bucket):
    clock = Clock()
    scheduler = SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=clock.sleep)
    taken = []
    for _ in range(4):  # one thread, one request after another
        with scheduler.slot() as at:
            taken.append(at)
    assert taken == approx([T0, T0 + RT_SPACING, T0 + 2 * RT_SPACING, T0 + 3 * RT_SPACING])
    assert clock.sleeps == approx([RT_SPACING] * 3)  # each waited for its own slot, no more
    assert _tat(bucket, "rottentomatoes") == approx(T0 + 4 * RT_SPACING)
    assert (bucket.writes, scheduler.reserved, scheduler.used) == (5, 4, 4)  # 1st: the append fails on no item, then the idle start


def test_several_slots_in_one_write_are_consecutive(bucket):
    first = bucket.reserve("tmdb", 3, 0.5, earliest=T0, latest=T0 + 60)
    second = bucket.reserve("tmdb", 2, 0.5, earliest=T0 + 0.1, latest=T0 + 60.1)
    assert (first, second) == (approx(T0), approx(T0 + 1.5))  # appended after the first three
    assert _tat(bucket, "tmdb") == approx(T0 + 2.5)
    assert bucket.writes == 3  # the idle start costs a failed append; a busy bucket takes one write


def test_a_bucket_idle_since_its_last_slot_starts_again_at_now(bucket):
    bucket.reserve("tmdb", 2, 0.5, earliest=T0, latest=T0 + 60)
    assert bucket.reserve("tmdb", 1, 0.5, earliest=T0 + 10, latest=T0 + 70) == approx(T0 + 10)  # no burst of back-credit
    assert _tat(bucket, "tmdb") == approx(T0 + 10.5)


def test_a_bucket_too_far_ahead_reserves_nothing(bucket):
    bucket.push("rottentomatoes", T0 + 100)
    with pytest.raises(TooFarAhead) as raised:
        bucket.reserve("rottentomatoes", 4, RT_SPACING, earliest=T0, latest=T0 + 60)
    assert raised.value.ahead_s == approx(100)
    assert _tat(bucket, "rottentomatoes") == approx(T0 + 100)  # unchanged


def test_a_push_never_moves_the_bucket_back(bucket):
    bucket.push("tmdb", T0 + 30)
    bucket.push("tmdb", T0 + 5)
    assert _tat(bucket, "tmdb") == approx(T0 + 30)


def test_threads_of_a_process_share_one_write(bucket):
    """Slots for those waiting and those in a call: the second thread finds its slot
    in the pool the first thread's write filled."""
    clock = Clock()
    scheduler = SlotScheduler("tmdb", 40, bucket, clock=clock, sleep=clock.sleep)
    with scheduler.slot():  # one thread in a call...
        second = scheduler.acquire()  # ...another asks: room is reserved for both
        writes = bucket.writes
        third = scheduler.acquire()  # the thread in its call asks again: already in the pool
        assert bucket.writes == writes
        scheduler.release()
        scheduler.release()
    assert third - second == approx(slot_spacing(40))
    assert scheduler.reserved == scheduler.used + len(scheduler._slots) + scheduler.dropped


def test_a_slot_gone_stale_in_the_pool_is_dropped_not_sent_late(bucket):
    clock = Clock()
    scheduler = SlotScheduler("tmdb", 40, bucket, clock=clock, sleep=clock.sleep)
    with scheduler.slot():
        scheduler.acquire()  # reserves one more for the thread in its call
        scheduler.release()
    clock.now += 1  # the spare slot passed while nobody asked
    taken = scheduler.acquire()
    assert taken >= clock.now - LATE_TOLERANCE_S and scheduler.dropped >= 1


def test_a_sleep_that_ends_too_late_gives_its_slot_up_for_the_next(bucket):
    clock = Clock()
    oversleep = [0.2]  # the first wake-up comes 200 ms late (a loaded host), then on time

    def sleep(seconds: float) -> None:
        clock.sleep(seconds + (oversleep.pop() if oversleep else 0))

    scheduler = SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=sleep)
    with scheduler.slot():
        pass
    with scheduler.slot() as at:
        assert clock.now - at <= LATE_TOLERANCE_S  # sent on a slot it was on time for
    assert (scheduler.used, scheduler.dropped) == (2, 1)


def _upstream(transport: ScriptedTransport, scheduler: SlotScheduler, clock: Clock) -> Upstream:
    retry = RetryPolicy(attempts=3, backoff_base_s=0, backoff_max_s=0, sleep=clock.sleep)
    return Upstream("rottentomatoes", make_http_client("rottentomatoes", "https://rt.test", 5, transport=transport),
                    retry, slots=scheduler)


def _text(response: httpx.Response) -> str:
    return check_status("rottentomatoes", response).text


def test_a_429_with_retry_after_holds_the_whole_deployment_off(bucket):
    clock = Clock()
    told, other = (SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=clock.sleep) for _ in range(2))
    transport = ScriptedTransport(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, text="ok"))
    assert _upstream(transport, told, clock).call("GET", "https://rt.test/x", _text) == "ok"
    assert _tat(bucket, "rottentomatoes") >= T0 + 7  # pushed for everyone
    # another process that never saw the 429 gets no slot before the pause ends
    assert other.acquire() >= T0 + 7


def test_a_429_without_retry_after_pauses_the_default(bucket):
    clock = Clock()
    scheduler = SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=clock.sleep)
    transport = ScriptedTransport(httpx.Response(429), httpx.Response(200, text="ok"))
    _upstream(transport, scheduler, clock).call("GET", "https://rt.test/x", _text)
    assert _tat(bucket, "rottentomatoes") >= T0 + PAUSE_AFTER_429_S


def test_every_attempt_takes_a_slot(bucket):
    clock = Clock()
    scheduler = SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=clock.sleep)
    transport = ScriptedTransport(httpx.Response(500), httpx.Response(200, text="ok"))
    _upstream(transport, scheduler, clock).call("GET", "https://rt.test/x", _text)
    assert scheduler.used == 2


def test_no_slot_in_time_is_a_deadline_the_stages_hand_off_on(bucket):
    clock = Clock()
    scheduler = SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=clock.sleep)
    bucket.push("rottentomatoes", T0 + slots.MAX_WAIT_S + 5)
    transport = ScriptedTransport(httpx.Response(200, text="ok"))
    with pytest.raises(NoSlotInTime) as raised:
        _upstream(transport, scheduler, clock).call("GET", "https://rt.test/x", _text)
    assert isinstance(raised.value, DeadlineExceeded) and isinstance(raised.value, RetryableUpstreamError)
    assert raised.value.attempts == 1 and transport.calls == 0  # not retried, nothing sent


def test_a_bucket_error_reaches_the_caller_so_the_message_is_redelivered(moto_tables):
    """Throttling is botocore's to retry (standard mode); what is left, here a table
    that is not there, is raised, never taken for a slot."""
    scheduler = SlotScheduler("tmdb", 40, BudgetBucket("no-such-table"))
    with pytest.raises(ClientError) as raised:
        scheduler.acquire()
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert scheduler.used == 0 and scheduler._waiting == 0 and not scheduler._reserving


def test_a_budgeted_service_without_a_bucket_is_a_config_error(monkeypatch):
    from tvreport.settings import ConfigError

    monkeypatch.setenv(env_keys.UPSTREAM_RATE_LIMITS, '{"tmdb": 40}')
    monkeypatch.delenv(env_keys.UPSTREAM_BUDGETS_TABLE, raising=False)
    slots.slot_scheduler.cache_clear()
    try:
        with pytest.raises(ConfigError, match=env_keys.UPSTREAM_BUDGETS_TABLE):
            slots.slot_scheduler("tmdb")
        assert slots.slot_scheduler("gandalf") is None  # no budget, no bucket needed
    finally:
        slots.slot_scheduler.cache_clear()


# -- bulk sessions yield: light sessions hold a service, a bulk one waits them out ------

def _held(bucket: BudgetBucket, service: str) -> float | None:
    item = aws.table(bucket.table_name).get_item(Key={"service": service}).get("Item") or {}
    return float(item[HELD]) if HELD in item else None


def test_a_holding_reservation_holds_the_service_past_its_last_slot(bucket):
    bucket.reserve("rottentomatoes", 2, RT_SPACING, earliest=T0, latest=T0 + 60, holds=True)  # idle start
    assert _held(bucket, "rottentomatoes") == approx(T0 + 2 * RT_SPACING + HOLD_GRACE_S)
    bucket.reserve("rottentomatoes", 3, RT_SPACING, earliest=T0 + 0.1, latest=T0 + 60, holds=True)  # appended
    assert _held(bucket, "rottentomatoes") == approx(T0 + 5 * RT_SPACING + HOLD_GRACE_S)
    bucket.reserve("rottentomatoes", 1, RT_SPACING, earliest=T0 + 0.2, latest=T0 + 60)  # not holding: unchanged
    assert _held(bucket, "rottentomatoes") == approx(T0 + 5 * RT_SPACING + HOLD_GRACE_S)


def test_a_yielding_reservation_takes_nothing_while_held_and_its_turn_after(bucket):
    bucket.reserve("rottentomatoes", 2, RT_SPACING, earliest=T0, latest=T0 + 60, holds=True)
    until = T0 + 2 * RT_SPACING + HOLD_GRACE_S
    for now in (T0 + 0.1, T0 + 2 * RT_SPACING + 0.5):  # busy, then idle but within the grace
        with pytest.raises(Held) as raised:
            bucket.reserve("rottentomatoes", 4, RT_SPACING, earliest=now, latest=now + 60, yields=True)
        assert raised.value.until == approx(until)
        assert _tat(bucket, "rottentomatoes") == approx(T0 + 2 * RT_SPACING)  # nothing reserved
    assert bucket.reserve("rottentomatoes", 1, RT_SPACING, earliest=until + 0.01, latest=until + 60,
                          yields=True) == approx(until + 0.01)


def test_a_bulk_invocation_sleeps_until_the_hold_ends_then_runs_at_the_full_budget(bucket):
    clock = Clock()
    light = SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=clock.sleep)
    bulk = SlotScheduler("rottentomatoes", 5, BudgetBucket(bucket.table_name), clock=clock, sleep=clock.sleep)
    with light.slot():  # a light session's request: holds until its slot plus the grace
        pass
    with slots.yielding_budgets(True), bulk.slot() as at:
        assert at == approx(T0 + RT_SPACING + HOLD_GRACE_S + slots.HOLD_STEP_S)  # just after the hold
    assert bulk.yielded_s == approx(RT_SPACING + HOLD_GRACE_S + slots.HOLD_STEP_S)
    assert _held(bucket, "rottentomatoes") == approx(T0 + RT_SPACING + HOLD_GRACE_S)  # a bulk slot holds nothing


def test_a_bulk_invocation_yields_at_most_max_yield_then_reserves_beside(bucket, monkeypatch):
    clock = Clock()
    holder = SlotScheduler("rottentomatoes", 5, bucket, clock=clock, sleep=clock.sleep)
    renewals = []

    def sleep(seconds: float) -> None:  # light sessions keep coming: each wake finds a new hold
        clock.sleep(seconds)
        with slots.yielding_budgets(False):  # another process: not the bulk invocation's context
            renewals.append(holder.acquire())
        holder.release()

    bulk = SlotScheduler("rottentomatoes", 5, BudgetBucket(bucket.table_name), clock=clock, sleep=sleep)
    holder.acquire()
    holder.release()
    with slots.yielding_budgets(True):
        at = bulk.acquire()
    assert clock.now >= T0 + slots.MAX_YIELD_S and len(renewals) >= 2  # yielded, then took its turn
    assert at <= clock.now + 1  # within a slot or so of its turn, not after yet another hold
    assert bulk.yielded_s == pytest.approx(slots.MAX_YIELD_S, abs=0.01)  # the cap, no more


def test_a_hold_past_the_time_left_is_no_slot_in_time(bucket):
    clock = Clock()
    bucket.reserve("rottentomatoes", 1, RT_SPACING, earliest=T0, latest=T0 + 60, holds=True)
    bulk = SlotScheduler("rottentomatoes", 5, BudgetBucket(bucket.table_name), clock=clock, sleep=clock.sleep)
    with slots.yielding_budgets(True), pytest.raises(TooFarAhead):
        bulk.acquire(max_wait_s=0.5)  # the hold ends 1.22 s from now
    assert clock.sleeps == []  # nothing waited out past what the caller may wait


# -- contention, on the local runtime's moto server (one DynamoDB request at a time, as
#    DynamoDB serializes writes to one item) -----------------------------------------

PROCESSES, THREADS, REQUESTS = 4, 4, 12


@pytest.fixture
def served_bucket(cdk_template, aws_credentials, monkeypatch) -> Iterator[BudgetBucket]:
    moto = start_moto()
    try:
        for key, value in moto.worker_env().items():
            monkeypatch.setenv(key, value)
        aws.reset()
        yield BudgetBucket(create_tables(cdk_template)["upstream_budgets"])
    finally:
        aws.reset()
        moto.stop()


def test_many_processes_and_threads_never_share_a_slot_and_lose_none(served_bucket):
    budget = 400  # fast enough to finish in about half a second of slots
    spacing = slot_spacing(budget)
    # each "process" its own scheduler and bucket client; nobody sleeps, so the bucket runs ahead
    schedulers = [SlotScheduler("tmdb", budget, BudgetBucket(served_bucket.table_name), sleep=lambda s: None)
                  for _ in range(PROCESSES)]
    taken: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(scheduler: SlotScheduler) -> None:
        try:
            for _ in range(REQUESTS):
                with scheduler.slot() as at:
                    with lock:
                        taken.append(at)
        except BaseException as error:  # noqa: BLE001  # reported below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(s,)) for s in schedulers for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(taken) == PROCESSES * THREADS * REQUESTS  # every request had a slot
    ordered = sorted(taken)
    gaps = [later - earlier for earlier, later in zip(ordered, ordered[1:], strict=False)]
    assert min(gaps) >= spacing - 1e-6  # no two requests anywhere share a slot
    for scheduler in schedulers:  # every reserved slot is sent, dropped or still held, none vanished
        assert scheduler.reserved == scheduler.used + scheduler.dropped + len(scheduler._slots)
    # How many writes the threads shared depends on the machine's load (a late wake-up drops its
    # slot and reserves again): a figure for the bench (writes_per_call), not asserted here;
    # test_threads_of_a_process_share_one_write checks the sharing with an injected clock.
    assert max(taken) + spacing <= _tat(served_bucket, "tmdb") + 1e-6  # the bucket is past every slot
