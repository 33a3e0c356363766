"""Releasing a session's chunks in waves (rules in tvreport.waves): wave 0 from the
split, later waves from the tracker (or the watchdog) as chunks are counted. Each
wave is claimed once with a conditional write of its number; chunks are
deterministic, so a re-sent wave is absorbed by the ledger."""
from __future__ import annotations

from dataclasses import dataclass

from tvreport import publisher
from tvreport.messages import ShowChunk, ShowRef
from tvreport.observability import logger
from tvreport.records import ViewingRecord
from tvreport.repositories.protocols import SessionStore, ViewingStore
from tvreport.session_model import SessionView, State
from tvreport.stages.history import chunk
from tvreport.stages.report_inputs import session_day
from tvreport.waves import unsent_wave, wave_chunk_ids


@dataclass
class WaveDeps:
    sessions: SessionStore
    viewing: ViewingStore
    show_data_queue_url: str


def chunk_messages(session_id: str, records: list[ViewingRecord], chunk_size: int) -> list[ShowChunk]:
    """Every chunk of the session, in order, rebuilt the same from its viewing records every
    time (the split, each wave, and an operator's retry of a dead-lettered chunk): its
    shows (not movies) in show-key order, whatever order the records come in."""
    shows = sorted((r for r in records if r.kind == "show"), key=lambda r: r.show_key)
    return [ShowChunk(session_id=session_id, chunk_id=n, shows=[
        ShowRef(show_key=r.show_key, title=r.title, imdb_id=r.imdb_id) for r in part
    ]) for n, part in enumerate(chunk(shows, chunk_size))]


def start(session_id: str, chunks: list[ShowChunk], *, wave_size: int, chunk_size: int, deps: WaveDeps) -> None:
    """From the split: claim and send wave 0. A redelivered split whose earlier send
    did not complete sends it again; a failed send raises, so the message is retried."""
    if not deps.sessions.claim_wave(session_id, 0, wave_size=wave_size, chunk_size=chunk_size):
        view = deps.sessions.get(session_id)
        if view is None or view.state is not State.CRUNCHING_DATA or unsent_wave(view) != 0:
            return
        wave_size = view.waves.size
    _send(session_id, 0, chunks, wave_size, deps)


def release(view: SessionView, wave: int, deps: WaveDeps) -> bool:
    """Claim wave `wave` and send it; False when another caller claimed it. A failed
    send raises and leaves the claim: the watchdog re-sends the unsent wave."""
    if not deps.sessions.claim_wave(view.session_id, wave, wave_size=view.waves.size,
                                    chunk_size=view.waves.chunk_size):
        return False
    _send(view.session_id, wave, _load(view, deps), view.waves.size, deps)
    return True


def resend(view: SessionView, deps: WaveDeps) -> bool:
    wave = unsent_wave(view)
    if wave is None:
        return False
    _send(view.session_id, wave, _load(view, deps), view.waves.size, deps)
    return True


def _load(view: SessionView, deps: WaveDeps) -> list[ShowChunk]:
    records = deps.viewing.records(view.session_id, as_of=session_day(view))
    return chunk_messages(view.session_id, records, view.waves.chunk_size)


def _send(session_id: str, wave: int, chunks: list[ShowChunk], wave_size: int, deps: WaveDeps) -> None:
    ids = wave_chunk_ids(wave, wave_size, len(chunks))
    publisher.send(deps.show_data_queue_url, chunks[ids.start:ids.stop])
    deps.sessions.mark_wave_sent(session_id, wave)
    logger.info("chunk wave sent", extra={"wave": wave, "chunks": len(ids)})
