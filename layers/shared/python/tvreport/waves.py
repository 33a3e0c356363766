"""Chunk waves: a session's chunks are released in waves of `wave_size`, at most two
waves ahead of what crawlRottenTomatoes has executed, so one long history never fills
the stage queues ahead of every other session. Pure rules of the session item; the
claims and sends are in tvreport.stages.chunk_waves."""
from __future__ import annotations

import math

from tvreport.session_model import SessionView, State

WAVES_AHEAD = 2  # waves in flight at most: one being worked, the next already queued


def is_bulk(view: SessionView) -> bool:
    """More chunks than one wave: a long history, whose chunks give way to other sessions'
    (a shorter time slice, tvreport.stages.part_gate; the budgets yielded, tvreport.clients.slots),
    so a light session beside it runs at nearly its solo pace."""
    return view.total_chunks is not None and 0 < view.waves.size < view.total_chunks


def wave_count(total_chunks: int, wave_size: int) -> int:
    return math.ceil(total_chunks / wave_size) if total_chunks > 0 else 0


def wave_chunk_ids(wave: int, wave_size: int, total_chunks: int) -> range:
    return range(wave * wave_size, min(total_chunks, (wave + 1) * wave_size))


def max_in_flight(wave_size: int) -> int:
    """Chunks released but not yet executed by crawlRottenTomatoes, at most."""
    return WAVES_AHEAD * wave_size


def due_wave(view: SessionView) -> int | None:
    """The next wave to release, if crawlRottenTomatoes has executed enough chunks
    that releasing it keeps at most WAVES_AHEAD waves in flight; wave 0 is released
    by the split itself. None for sessions without waves (released all at once)."""
    wave_size, claimed, sent = view.waves.size, view.waves.claimed, view.waves.sent
    if view.state is not State.CRUNCHING_DATA or view.total_chunks is None or wave_size <= 0 or claimed == 0:
        return None
    if sent < claimed or claimed >= wave_count(view.total_chunks, wave_size):
        return None  # the last claimed wave is not sent yet, or every wave is out
    released_after = min(view.total_chunks, (claimed + 1) * wave_size)
    if released_after - view.rotten_tomatoes.chunks_executed <= max_in_flight(wave_size):
        return claimed
    return None


def unsent_wave(view: SessionView) -> int | None:
    """A claimed wave whose send failed (or whose sender crashed): the watchdog re-sends it."""
    claimed, sent = view.waves.claimed, view.waves.sent
    return claimed - 1 if sent < claimed else None
