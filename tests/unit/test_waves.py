"""Chunk waves, the tracker's send backoff and the active-index shards: pure rules."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tvreport.progress import decide
from tvreport.session_model import ACTIVE_SHARDS, SessionView, active_shard, shard_value
from tvreport.stages.tracker import backoff
from tvreport.waves import due_wave, is_bulk, max_in_flight, unsent_wave, wave_chunk_ids, wave_count


def session(total_chunks: int, wave_size: int, claimed: int, sent: int, executed: int, **extra) -> SessionView:
    item = {"session_id": "s1", "state": "CRUNCHING_DATA", "threshold_percent": 97,
            "total_shows": total_chunks * 50, "total_chunks": total_chunks, "wave_size": wave_size,
            "waves_claimed": claimed, "waves_sent": sent, "rt_chunks_done": executed, **extra}
    return SessionView.from_item(item)


def test_waves_cover_every_chunk_once():
    for total in range(0, 40):
        for size in range(1, 12):
            ids = [i for wave in range(wave_count(total, size)) for i in wave_chunk_ids(wave, size, total)]
            assert ids == list(range(total))


def test_a_wave_is_due_only_within_the_in_flight_bound_exhaustively():
    for total in range(1, 25):
        for size in range(1, 7):
            waves = wave_count(total, size)
            for claimed in range(1, waves + 1):
                released = min(total, claimed * size)
                for sent in (claimed - 1, claimed):
                    for executed in range(released + 1):
                        due = due_wave(session(total, size, claimed, sent, executed))
                        if sent < claimed or claimed == waves:
                            assert due is None  # an unsent wave first; nothing left
                            continue
                        after = min(total, (claimed + 1) * size)
                        assert (due == claimed) == (after - executed <= max_in_flight(size))
                        if executed == released:
                            assert due == claimed  # never stuck with nothing in flight


def test_releasing_waves_as_chunks_execute_never_exceeds_the_bound():
    # Simulate: release whatever is due, execute one chunk, repeat.
    for total in range(1, 60):
        for size in range(1, 8):
            claimed = sent = 1
            executed, peak = 0, 0
            while executed < total:
                while (wave := due_wave(session(total, size, claimed, sent, executed))) is not None:
                    assert wave == claimed
                    claimed = sent = wave + 1
                released = min(total, claimed * size)
                peak = max(peak, released - executed)
                executed += 1
            assert claimed == wave_count(total, size) and peak <= max_in_flight(size)


def test_sessions_without_waves_release_nothing_more():
    legacy = SessionView.from_item({"session_id": "s", "state": "CRUNCHING_DATA", "total_shows": 500,
                                    "total_chunks": 10})
    assert due_wave(legacy) is None and unsent_wave(legacy) is None
    assert decide(legacy).wave is None
    for state in ("COMPLETED", "FAILED"):
        assert due_wave(session(100, 10, 1, 1, 0, state=state)) is None


def test_decide_asks_for_the_due_wave():
    assert decide(session(100, 10, 1, 1, 0)).wave == 1
    assert decide(session(100, 10, 2, 2, 0)).wave is None
    assert decide(session(100, 10, 2, 2, 10)).wave == 2
    assert unsent_wave(session(100, 10, 2, 1, 10)) == 1


def test_send_backoff_doubles_up_to_half_an_hour():
    assert [backoff(n) // timedelta(minutes=1) for n in range(1, 8)] == [2, 4, 8, 16, 30, 30, 30]


def test_active_shards_are_stable_and_spread():
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(16_000)]
    counts = Counter(active_shard(i) for i in ids)
    assert set(counts) == {shard_value(n) for n in range(ACTIVE_SHARDS)}
    assert max(counts.values()) < 1.1 * 16_000 / ACTIVE_SHARDS
    assert active_shard(ids[0]) == active_shard(ids[0])
    # a shorter first wait (the local runner's) doubles the same way, under the same cap
    assert [backoff(n, timedelta(seconds=3)).total_seconds() for n in (1, 2, 3, 11, 12)] == [3, 6, 12, 1800, 1800]


def test_a_session_is_bulk_when_it_needs_more_than_one_wave():
    assert not is_bulk(session(10, 10, 1, 1, 0))  # one wave exactly: a heavy history
    assert is_bulk(session(11, 10, 1, 1, 0))
    assert is_bulk(session(100, 10, 1, 1, 0))
    assert not is_bulk(session(100, 0, 0, 0, 0))  # no waves: nothing to go by
    assert not is_bulk(SessionView.from_item({"session_id": "s", "state": "CRUNCHING_DATA"}))  # not split yet
