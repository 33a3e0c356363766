"""What each operator command does, as plain data (the CLI renders it).

Every rule about a session comes from the layer (progress, session_model, the
repositories and the message models), so `ops` reports what the pipeline itself
would decide."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from ops import queues
from ops.stack import Pipeline
from tvreport import progress, publisher
from tvreport.messages import STAGE_MESSAGES, ActivitiesRequest, RtChunk, ShowChunk
from tvreport.repositories._dynamo import from_dynamo
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.schema import CHUNKED, FOLLOW_UPS, STAGES
from tvreport.session_model import COUNTER_PREFIX, ChunkCounters, SessionView, Stage, State
from tvreport.stages.query_activities import chunk_messages
from tvreport.stages.report_inputs import session_day

# The model each stage queue (and its DLQ) carries.
MESSAGE_MODELS: dict[str, type[BaseModel]] = {STAGES[stage].folder: model for stage, model in STAGE_MESSAGES.items()}
CHUNK_STAGES = {spec.folder: spec.stage for spec in CHUNKED}
# ttl_days only matters to writes that set expires_at; the operator's writes never do.
_UNUSED_TTL_DAYS = 1


class NotFound(LookupError):
    pass


class Refused(RuntimeError):
    """The session's state does not allow the action; nothing was changed."""


@dataclass
class Ops:
    pipeline: Pipeline

    @property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self.pipeline.sessions_table, _UNUSED_TTL_DAYS)

    def _view(self, session_id: str) -> SessionView:
        view = self.sessions.get(session_id)
        if view is None:
            raise NotFound(f"no session {session_id}")
        return view

    # -- ops session ID ---------------------------------------------------------
    def session(self, session_id: str) -> dict[str, Any]:
        view = self._view(session_id)
        ledger = [_ledger_entry(item) for item in self.sessions.ledger(session_id)]
        dead_letters = [message for queue in self.dead_letters()["queues"] for message in queue["messages"]
                        if message.get("session_id") == session_id]
        return {
            "session_id": session_id,
            "state": view.state.value,
            "failure_reason": view.failure_reason,
            "updated_at": view.updated_at,
            "totals": {"shows": view.total_shows, "chunks": view.total_chunks,
                       "activity_pages": [view.activity_pages_done, view.activity_pages_total]},
            "stages": {stage.value: percent for stage, percent in progress.stage_percentages(view).items()},
            "counters": {stage.value: _counters(counters) for stage, counters in view.chunks.items()},
            "ai_stages": {spec.stage.value: _ai_status(view, spec.stage) for spec in FOLLOW_UPS},
            "ledger": ledger,
            "chunks": _where_chunks_are(view, ledger, dead_letters),
            "dead_letters": dead_letters,
            "queues": {directory: queues.depth(q.url) for directory, q in self.pipeline.queues.items()},
        }

    # -- ops dlq ----------------------------------------------------------------
    def dead_letters(self, limit: int = 100) -> dict[str, Any]:
        result = []
        for directory, stage_queues in self.pipeline.queues.items():
            peeked = queues.peek(stage_queues.dead_letter_url, limit)
            result.append({"stage": directory, "url": stage_queues.dead_letter_url,
                           "depth": queues.depth(stage_queues.dead_letter_url),
                           "messages": [_describe(directory, m) for m in peeked]})
        return {"queues": result}

    # -- ops redrive STAGE --------------------------------------------------------
    def redrive(self, directory: str, method: str) -> dict[str, Any]:
        stage_queues = self.pipeline.queues[directory]
        before = queues.depth(stage_queues.dead_letter_url)
        if method == "move-task":
            result = queues.start_move_task(stage_queues.dead_letter_url, stage_queues.url)
        else:
            result = queues.copy_back(stage_queues.dead_letter_url, stage_queues.url)
        return {"stage": directory, "dead_letter_depth_before": before, **result,
                "dead_letter_depth_after": queues.depth(stage_queues.dead_letter_url)}

    # -- ops retry-failed ID ----------------------------------------------------
    def retry_failed(self, session_id: str) -> dict[str, Any]:
        """Re-run the session's dead-lettered chunks through the real stages.

        Each chunk is first taken off the ledger and the counters in one transaction
        (`uncount_dead_letter`), then its message is rebuilt from the viewing records
        and sent to queryShowData; the stages count it again with their own
        exactly-once `count_chunk`: done if it works now, dead-lettered if not."""
        view = self._view(session_id)
        if view.state is not State.CRUNCHING_DATA:
            raise Refused(f"session {session_id} is {view.state.value}: an ended session is final and its "
                          "stages drop new messages; nothing was retried")
        dead = sorted({int(i["chunk_id"]) for i in self.sessions.ledger(session_id) if i.get("dead_lettered")})
        if not dead:
            return {"session_id": session_id, "retried": [], "skipped": []}
        records = ViewingRepository(self.pipeline.viewing_table, _UNUSED_TTL_DAYS).records(
            session_id, as_of=session_day(view))
        messages = chunk_messages(session_id, records, self.pipeline.chunk_size)
        if len(messages) != view.total_chunks:
            raise Refused(f"the viewing records split into {len(messages)} chunks, the session counted "
                          f"{view.total_chunks}: the chunks cannot be rebuilt; nothing was retried")
        retried, skipped = [], []
        for chunk_id in dead:
            taken = self.sessions.uncount_dead_letter(session_id, chunk_id)
            if not taken:
                skipped.append(chunk_id)  # a concurrent retry won, or the session ended
                continue
            try:
                publisher.send(self.pipeline.queues[STAGES[Stage.QUERY_SHOW_DATA].folder].url, [messages[chunk_id]])
            except Exception:
                self._recount(session_id, chunk_id, taken)
                raise
            retried.append({"chunk_id": chunk_id, "stages": [str(i["stage"]) for i in taken],
                            "shows": len(messages[chunk_id].shows)})
        return {"session_id": session_id, "retried": retried, "skipped": skipped}

    def _recount(self, session_id: str, chunk_id: int, taken: list[dict[str, Any]]) -> None:
        """The re-run could not be sent: count the chunk dead-lettered again, as it was."""
        for item in taken:
            self.sessions.count_chunk(session_id, Stage(item["stage"]), chunk_id,
                                      shows_done=int(item["shows_done"]), shows_failed=int(item["shows_failed"]),
                                      dead_lettered=True)

    # -- ops cancel ID -----------------------------------------------------------
    def cancel(self, session_id: str) -> dict[str, Any]:
        view = self._view(session_id)
        if not self.sessions.cancel(session_id):
            raise Refused(f"session {session_id} had already ended {view.state.value}; nothing was changed")
        after = self._view(session_id)
        return {"session_id": session_id, "state": after.state.value, "failure_reason": after.failure_reason}


def _counters(counters: ChunkCounters) -> dict[str, int]:
    return {"shows_done": counters.shows_done, "shows_failed": counters.shows_failed,
            "chunks_done": counters.chunks_done, "chunks_failed": counters.chunks_failed}


def _ai_status(view: SessionView, stage: Stage) -> str:
    if stage in view.done:
        return "done"
    if stage in view.sent:
        return "sent"
    return "requested" if stage in view.requested else "not requested"


def _ledger_entry(item: dict[str, Any]) -> dict[str, Any]:
    plain = from_dynamo(item)
    return {"stage": plain["stage"], "chunk_id": plain["chunk_id"],
            "status": "dead-lettered" if plain.get("dead_lettered") else "done",
            "shows_done": plain.get("shows_done", 0), "shows_failed": plain.get("shows_failed", 0),
            "counted_at": plain.get("counted_at")}


def _where_chunks_are(view: SessionView, ledger: list[dict[str, Any]],
                      dead_letters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per chunk and chunked stage: counted (done / dead-lettered), in the stage's DLQ
    (seen there, not yet recorded), or pending: in its queue or being worked on (stage
    queues are not peeked, see ops.queues)."""
    counted = {(e["stage"], e["chunk_id"]): e["status"] for e in ledger}
    in_dlq = {(CHUNK_STAGES[m["stage"]].value, m["chunk_id"]) for m in dead_letters if m["stage"] in CHUNK_STAGES}
    rows = []
    for chunk_id in range(view.total_chunks or 0):
        row: dict[str, Any] = {"chunk_id": chunk_id}
        for stage in COUNTER_PREFIX:
            key = (stage.value, chunk_id)
            row[stage.value] = counted.get(key) or ("in DLQ" if key in in_dlq else "pending")
        rows.append(row)
    return rows


def _describe(directory: str, message: queues.Peeked) -> dict[str, Any]:
    """A DLQ message by what it is about; never its whole body (a dataKey may be in it)."""
    entry: dict[str, Any] = {"stage": directory, "message_id": message.message_id,
                             "receive_count": message.receive_count, "sent_at": message.sent_at}
    try:
        parsed = MESSAGE_MODELS[directory].model_validate_json(message.body)
    except ValidationError as error:
        return {**entry, "poison": True, "errors": error.error_count(), "body_bytes": len(message.body.encode())}
    entry["session_id"] = parsed.session_id  # type: ignore[attr-defined]
    if isinstance(parsed, (ShowChunk, RtChunk)):
        entry.update(chunk_id=parsed.chunk_id, shows=len(parsed.shows))
    elif isinstance(parsed, ActivitiesRequest):
        entry.update(source=parsed.source, next_page=parsed.next_page)
    return {**entry, "poison": False}

