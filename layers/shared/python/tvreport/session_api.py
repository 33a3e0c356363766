"""What the API does with sessions, apart from HTTP: create (idempotent with a client
token), connect, describe, report, delete. Errors are typed; the API handler maps
each type to a status code."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from tvreport import aws, publisher
from tvreport.messages import ActivitiesRequest
from tvreport.netflix.csv_reader import CsvFormatError, read_netflix_csv
from tvreport.observability import logger
from tvreport.progress import stage_percentages
from tvreport.repositories._dynamo import from_dynamo
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import SessionView, Stage, State
from tvreport.stages.history import group_plays
from tvreport.stages.purge import purge_session, upload_key

MAX_CSV_CHARS = 5_000_000  # API Gateway accepts 10 MB bodies; exports are far smaller


class SessionNotFound(LookupError):
    pass


class SessionConflict(RuntimeError):
    """The session is not in a state that allows this call."""


class InvalidUpload(ValueError):
    pass


class TooManyShows(ValueError):
    """An export with more distinct shows than one session may have (422)."""


class StartFailed(RuntimeError):
    """The session could not be created or its first message queued. A request that
    can be repeated (a clientToken, a connect) re-sends the start on the repeat;
    otherwise the session is marked FAILED so it never waits for work never sent."""


class CreateSessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataKey: SecretStr | None = Field(default=None, description="Gandalf dataKey; starts the session")
    netflixCsv: str | None = Field(default=None, max_length=MAX_CSV_CHARS,
                                   description="a NetflixViewingHistory.csv export, as text")
    clientToken: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$",
                                    description="idempotency token: the same token returns the same session")

    @model_validator(mode="after")
    def one_source(self) -> "CreateSessionBody":
        if self.dataKey is not None and self.netflixCsv is not None:
            raise ValueError("give either dataKey or netflixCsv, not both")
        if self.dataKey is not None and not self.dataKey.get_secret_value().strip():
            raise ValueError("dataKey must not be empty")
        return self


class ConnectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataKey: SecretStr

    @model_validator(mode="after")
    def not_empty(self) -> "ConnectBody":
        if not self.dataKey.get_secret_value().strip():
            raise ValueError("dataKey must not be empty")
        return self


@dataclass
class SessionService:
    sessions: SessionRepository
    viewing: ViewingRepository
    activities_queue_url: str
    uploads_bucket: str
    threshold_percent: int
    max_shows: int = 10_000  # distinct shows per session (deploy option max_shows_per_session)

    def create(self, body: CreateSessionBody) -> tuple[dict[str, Any], bool]:
        if body.netflixCsv is not None:
            _check_export(body.netflixCsv, self.max_shows)
        source = "gandalf" if body.dataKey else ("netflix_csv" if body.netflixCsv is not None else None)
        state = State.CRUNCHING_DATA if source else State.AWAITING_CONNECTION
        new_id = str(uuid.uuid4())
        try:
            session_id, created = self.sessions.create(
                new_id, source=source, state=state, threshold_percent=self.threshold_percent,
                client_token=body.clientToken, start_digest=_create_digest(new_id, body) if source else None)
        except ClientError as error:  # cancelled past its retries, or throttled past botocore's
            raise StartFailed("the session could not be created; repeat the request to retry") from error
        view = self._view(session_id)  # a token whose session was deleted answers 404
        if source and _start_pending(view):
            # A new session, or the replay of a create that died before its start was
            # queued: the same request (same digest) queues the start; another is refused.
            if not created and view.item.get("start_digest") != _create_digest(session_id, body):
                raise SessionConflict("this clientToken belongs to another request")
            if not created:
                logger.info("start re-sent for a replayed create")
            self._start_created(session_id, body, replayable=bool(body.clientToken))
        return self.describe(session_id), created

    def _start_created(self, session_id: str, body: CreateSessionBody, replayable: bool) -> None:
        if body.dataKey is not None:
            self._start(ActivitiesRequest(session_id=session_id, source="gandalf", data_key=body.dataKey),
                        replayable)
            return
        key = upload_key(session_id)
        try:  # a replay writes the same bytes to the same key
            aws.client("s3").put_object(Bucket=self.uploads_bucket, Key=key,
                                        Body=(body.netflixCsv or "").encode("utf-8"), ContentType="text/csv")
        except Exception as error:
            self._start_failed(session_id, error, replayable, "the export could not be stored")
        self._start(ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key=key), replayable)

    def connect(self, session_id: str, body: ConnectBody) -> dict[str, Any]:
        self._view(session_id)
        digest = _digest(session_id, "gandalf", body.dataKey.get_secret_value().encode("utf-8"))
        if not self.sessions.connect(session_id, "gandalf", digest):
            view = self._view(session_id)
            # A repeated connect re-sends a start that was never queued, with the same key only.
            if not (_start_pending(view) and view.item.get("start_digest") == digest):
                raise SessionConflict("the session is not awaiting a connection")
            logger.info("start re-sent for a repeated connect")
        self._start(ActivitiesRequest(session_id=session_id, source="gandalf", data_key=body.dataKey),
                    replayable=True)
        return self.describe(session_id)

    def describe(self, session_id: str) -> dict[str, Any]:
        return session_document(self._view(session_id))

    def report(self, session_id: str) -> dict[str, Any]:
        view = self._view(session_id)
        if view.state is not State.COMPLETED:
            raise SessionConflict(f"the report is ready when the session is COMPLETED (now {view.state.value})")
        item = from_dynamo(dict(view.item))
        return {"sessionId": session_id, "partial": bool(item.get("report_partial")),
                "statistics": item.get("statistics", {}), "tvBff": item.get("tv_bff_result"),
                "starSign": item.get("star_sign_result")}

    def delete(self, session_id: str) -> dict[str, int]:
        """Tombstone first, so no stage write lands after this; then delete what exists
        (the watchdog's purge removes stragglers of stages that were mid-flight)."""
        view = self._view(session_id)
        if not self.sessions.tombstone(session_id, view.item.get("client_token")):
            raise SessionNotFound(f"no session {session_id}")
        purged = purge_session(session_id, self.sessions, self.viewing, remove_tombstone=False,
                               uploads_bucket=self.uploads_bucket)
        # the session item itself is gone too, replaced by its tombstone
        return {"viewingRecordsDeleted": purged.viewing_records, "sessionItemsDeleted": purged.session_items + 1}

    def _view(self, session_id: str) -> SessionView:
        view = self.sessions.get(session_id)
        if view is None:
            raise SessionNotFound(f"no session {session_id}")
        return view

    def _start(self, request: ActivitiesRequest, replayable: bool) -> None:
        try:
            publisher.send(self.activities_queue_url, [request])
        except Exception as error:
            self._start_failed(request.session_id, error, replayable, "the session could not be started")
        self.sessions.mark_start_sent(request.session_id)

    def _start_failed(self, session_id: str, error: Exception, replayable: bool, what: str) -> NoReturn:
        """Without a way to repeat the request the session is FAILED at once, so it
        never waits for work that was never sent; with one, it stays for the replay
        (and the watchdog ends it as stalled if none comes)."""
        if replayable:
            raise StartFailed(f"{what}; repeat the request to retry") from error
        self.sessions.fail(session_id, "START_FAILED", type(error).__name__)
        raise StartFailed(f"{what}; create a new one") from error


def _start_pending(view: SessionView) -> bool:
    return view.state is State.CRUNCHING_DATA and "start_sent_at" not in view.item


def _digest(session_id: str, source: str, payload: bytes) -> str:
    """What a replay must match to re-send a start (salted by the session id)."""
    return hashlib.sha256(f"{session_id}\n{source}\n".encode("utf-8") + payload).hexdigest()


def _create_digest(session_id: str, body: CreateSessionBody) -> str:
    if body.dataKey is not None:
        return _digest(session_id, "gandalf", body.dataKey.get_secret_value().encode("utf-8"))
    return _digest(session_id, "netflix_csv", (body.netflixCsv or "").encode("utf-8"))


def _check_export(text: str, max_shows: int) -> None:
    """Reject an upload that is not a Netflix export (400) or has more distinct shows
    than a session may have (422) at once, before any work."""
    try:
        result = read_netflix_csv(text)
    except CsvFormatError as error:
        raise InvalidUpload(str(error)) from error
    if not result.activities:
        raise InvalidUpload(f"the export has no readable rows ({len(result.rejected)} rejected)")
    grouped, _ = group_plays([(a.title, a.watched_on, a.imdb_id) for a in result.activities])
    shows = sum(1 for entry in grouped.values() if entry.kind == "show")
    if shows > max_shows:
        raise TooManyShows(f"the export has {shows} distinct shows; a session may have at most {max_shows}")


_STAGE_NAMES = {Stage.QUERY_ACTIVITIES: "queryActivities", Stage.QUERY_SHOW_DATA: "queryShowData",
                Stage.CRAWL_ROTTEN_TOMATOES: "crawlRottenTomatoes", Stage.TV_BFF: "tvBFF",
                Stage.STAR_SIGN: "starSignPicker"}


def session_document(view: SessionView) -> dict[str, Any]:
    item = from_dynamo(dict(view.item))
    percents = stage_percentages(view)
    stages: dict[str, dict[str, Any]] = {name: {"percent": percents[stage]} for stage, name in _STAGE_NAMES.items()}
    for stage, counters in ((Stage.QUERY_SHOW_DATA, view.show_data), (Stage.CRAWL_ROTTEN_TOMATOES, view.rotten_tomatoes)):
        stages[_STAGE_NAMES[stage]].update(showsDone=counters.shows_done, showsFailed=counters.shows_failed,
                                           chunksDone=counters.chunks_done, chunksFailed=counters.chunks_failed)
    stages["queryActivities"].update(pagesDone=view.activity_pages_done, pagesTotal=view.activity_pages_total)
    return {
        "sessionId": view.session_id, "state": view.state.value, "failureReason": view.failure_reason,
        "source": item.get("source"), "thresholdPercent": view.threshold_percent, "stages": stages,
        "counters": {"totalShows": view.total_shows, "totalChunks": view.total_chunks,
                     "movies": item.get("movies"), "activities": item.get("activities"),
                     "rejectedRows": item.get("rejected_rows")},
        "createdAt": item.get("created_at"), "updatedAt": item.get("updated_at"),
        "completedAt": item.get("completed_at"),
    }
