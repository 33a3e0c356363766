"""What the API does with sessions, apart from HTTP: create (idempotent with a client
token), connect, describe, report, cancel, delete, and presigned uploads. Errors are
typed; the API handler maps each type to a status code."""
from __future__ import annotations

import hashlib
import json
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
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.schema import FOLLOW_UPS, STAGES, incoming_upload_key, upload_key
from tvreport.session_model import SessionView, Stage, State
from tvreport.stages.history import group_plays
from tvreport.stages.purge import purge_session

# Request bodies are counted in bytes (UTF-8), as Lambda and API Gateway count them.
# Lambda takes at most 6 MB (6,291,456 bytes) per synchronous event, and the proxy event
# carries the body as a JSON string, where escaping can double it (each `"` of a JSON
# body becomes `\"`): 3,000,000 bytes stays under 6 MB whatever the content, with room
# for headers and the request context. Larger exports go through POST /uploads.
MAX_INLINE_BODY_BYTES = 3_000_000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a heavy viewer's export is a few MB
UPLOAD_EXPIRES_SECONDS = 15 * 60
# A Gandalf dataKey is a few hundred characters at most; the cap keeps the queued
# message far below SQS's 256 KiB message limit (a larger key failed the send: 503).
MAX_DATA_KEY_CHARS = 2048
CLIENT_TOKEN_PATTERN = r"^[A-Za-z0-9._:-]{16,128}$"
UPLOAD_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"



class SessionNotFound(LookupError):
    pass


class SessionConflict(RuntimeError):
    """The session is not in a state that allows this call."""


class InvalidUpload(ValueError):
    pass


class UploadNotFound(LookupError):
    pass


class PayloadTooLarge(ValueError):
    pass


class TooManyShows(ValueError):
    """An export with more distinct shows than one session may have (422)."""


class StartFailed(RuntimeError):
    """The session could not be created or its first message queued. A request that
    can be repeated (a clientToken, a connect) re-sends the start on the repeat;
    otherwise the session is marked FAILED so it never waits for work never sent."""


_DATA_KEY_DOC: dict[str, Any] = {"maxLength": MAX_DATA_KEY_CHARS, "minLength": 1}


def _check_data_key(key: SecretStr | None) -> None:
    if key is None:
        return
    value = key.get_secret_value()
    if not value.strip():
        raise ValueError("dataKey must not be empty")
    if len(value) > MAX_DATA_KEY_CHARS:
        raise ValueError(f"dataKey is longer than {MAX_DATA_KEY_CHARS} characters")


class CreateSessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataKey: SecretStr | None = Field(default=None, description="Gandalf dataKey; starts the session",
                                      json_schema_extra=_DATA_KEY_DOC)
    netflixCsv: str | None = Field(default=None, description="a NetflixViewingHistory.csv export, as text "
                                   f"(the whole body at most {MAX_INLINE_BODY_BYTES} bytes; larger: uploadId)")
    uploadId: str | None = Field(default=None, pattern=UPLOAD_ID_PATTERN,
                                 description="an export uploaded through POST /uploads")
    clientToken: str | None = Field(
        default=None, pattern=CLIENT_TOKEN_PATTERN,
        description="idempotency key, 16-128 characters of A-Z a-z 0-9 . _ : - (a UUID will do): the same "
                    "token with the same body returns the same session (200) until the session expires; "
                    "with another body it is a 409")

    @model_validator(mode="after")
    def one_source(self) -> CreateSessionBody:
        given = [name for name in ("dataKey", "netflixCsv", "uploadId") if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of dataKey, netflixCsv or uploadId, not {' and '.join(given)}")
        _check_data_key(self.dataKey)
        return self

    def digest(self) -> str:
        """SHA-256 of the request without its token, salted by the token and bound to
        it: a replay must be the same request. The dataKey enters only hashed."""
        fields = {"dataKey": self.dataKey and self.dataKey.get_secret_value(),
                  "netflixCsv": self.netflixCsv, "uploadId": self.uploadId}
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(f"{self.clientToken}\n{canonical}".encode()).hexdigest()


class ConnectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataKey: SecretStr = Field(json_schema_extra=_DATA_KEY_DOC)

    @model_validator(mode="after")
    def not_empty(self) -> ConnectBody:
        _check_data_key(self.dataKey)
        return self


def check_inline_size(body_bytes: int) -> None:
    if body_bytes > MAX_INLINE_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is {body_bytes} bytes; inline bodies are at most "
                              f"{MAX_INLINE_BODY_BYTES} bytes: upload larger exports with POST /uploads")


@dataclass
class SessionService:
    sessions: SessionRepository
    viewing: ViewingRepository
    activities_queue_url: str
    uploads_bucket: str
    threshold_percent: int
    max_shows: int = 10_000  # distinct shows per session (deploy option max_shows_per_session)

    def create(self, body: CreateSessionBody) -> tuple[dict[str, Any], bool]:
        request_digest = body.digest() if body.clientToken else None
        # A token already used: the same request (else ClientTokenReused) is a replay,
        # whose export was checked (and an upload moved) the first time.
        replay = bool(body.clientToken) and self.sessions.token_session(
            body.clientToken, request_digest) is not None  # type: ignore[arg-type]  # bool() narrows it
        if body.netflixCsv is not None and not replay:
            _check_export(body.netflixCsv, self.max_shows)
        if body.uploadId is not None and not replay:
            self._check_upload(body.uploadId)
        has_export = body.netflixCsv is not None or body.uploadId is not None
        source = "gandalf" if body.dataKey else ("netflix_csv" if has_export else None)
        state = State.CRUNCHING_DATA if source else State.AWAITING_CONNECTION
        new_id = str(uuid.uuid4())
        try:
            session_id, created = self.sessions.create(
                new_id, source=source, state=state, threshold_percent=self.threshold_percent,
                client_token=body.clientToken, start_digest=_create_digest(new_id, body) if source else None,
                request_digest=request_digest)
        except ClientError as error:  # cancelled past its retries, or throttled past botocore's
            raise StartFailed("the session could not be created; repeat the request to retry") from error
        view = self._view(session_id)  # a token whose session was deleted answers 404
        if source and _start_pending(view):
            # A new session, or the replay of a create that died before its start was
            # queued: the same request (same digest) queues the start; another is refused.
            if not created and view.start_digest != _create_digest(session_id, body):
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
            self._store_export(body, key)
        except Exception as error:
            self._start_failed(session_id, error, replayable, "the export could not be stored")
        self._start(ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key=key), replayable)

    def connect(self, session_id: str, body: ConnectBody) -> dict[str, Any]:
        self._view(session_id)
        digest = _digest(session_id, "gandalf", body.dataKey.get_secret_value().encode("utf-8"))
        if not self.sessions.connect(session_id, "gandalf", digest):
            view = self._view(session_id)
            # A repeated connect re-sends a start that was never queued, with the same key only.
            if not (_start_pending(view) and view.start_digest == digest):
                raise SessionConflict("the session is not awaiting a connection")
            logger.info("start re-sent for a repeated connect")
        self._start(ActivitiesRequest(session_id=session_id, source="gandalf", data_key=body.dataKey),
                    replayable=True)
        return self.describe(session_id)

    def cancel(self, session_id: str) -> dict[str, Any]:
        """End a waiting or crunching session as FAILED (CANCELLED); stages drop its work."""
        self._view(session_id)
        if not self.sessions.cancel(session_id, by="the client"):
            raise SessionConflict(f"the session has already ended ({self._view(session_id).state.value})")
        return self.describe(session_id)

    def new_upload(self) -> dict[str, Any]:
        """A presigned S3 POST for one export: size-capped, text/csv only, expiring."""
        upload_id = str(uuid.uuid4())
        post = aws.client("s3").generate_presigned_post(
            Bucket=self.uploads_bucket, Key=incoming_upload_key(upload_id), Fields={"Content-Type": "text/csv"},
            Conditions=[{"Content-Type": "text/csv"}, ["content-length-range", 1, MAX_UPLOAD_BYTES]],
            ExpiresIn=UPLOAD_EXPIRES_SECONDS)
        return {"uploadId": upload_id, "url": post["url"], "fields": post["fields"],
                "maxBytes": MAX_UPLOAD_BYTES, "expiresInSeconds": UPLOAD_EXPIRES_SECONDS}

    def _check_upload(self, upload_id: str) -> None:
        try:
            head = aws.client("s3").head_object(Bucket=self.uploads_bucket, Key=incoming_upload_key(upload_id))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                raise UploadNotFound(f"no upload {upload_id}: POST the file to the url from POST /uploads "
                                     "first (an upload starts one session)") from error
            raise
        if not 0 < head["ContentLength"] <= MAX_UPLOAD_BYTES:
            raise InvalidUpload(f"the upload is {head['ContentLength']} bytes; exports are 1 to "
                                f"{MAX_UPLOAD_BYTES} bytes")

    def _store_export(self, body: CreateSessionBody, key: str) -> None:
        """The export lives at uploads/<session id>.csv, where the stages read it and
        DELETE removes it; an upload is moved there (S3 has no rename)."""
        s3 = aws.client("s3")
        if body.uploadId is None:
            s3.put_object(Bucket=self.uploads_bucket, Key=key,  # the model requires one of the two
                          Body=body.netflixCsv.encode("utf-8"),  # type: ignore[union-attr]
                          ContentType="text/csv")
            return
        source = incoming_upload_key(body.uploadId)
        try:
            s3.copy_object(Bucket=self.uploads_bucket, Key=key,
                           CopySource={"Bucket": self.uploads_bucket, "Key": source})
        except ClientError as error:  # a replay: moved already, if the session's copy is there
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey"):
                raise
            s3.head_object(Bucket=self.uploads_bucket, Key=key)
        s3.delete_object(Bucket=self.uploads_bucket, Key=source)
    def connect_once(self, session_id: str, body: ConnectBody) -> bool:
        """The Gandalf Connect callback: start a waiting session; a replay (the session
        has moved on) sends nothing again. False when nothing was started."""
        try:
            self.connect(session_id, body)
        except SessionConflict:
            return False
        return True

    def describe(self, session_id: str) -> dict[str, Any]:
        return session_document(self._view(session_id))

    def report(self, session_id: str) -> dict[str, Any]:
        view = self._view(session_id)
        if view.state is not State.COMPLETED:
            raise SessionConflict(f"the report is ready when the session is COMPLETED (now {view.state.value})")
        return {"sessionId": session_id, "partial": view.report_partial, "statistics": dict(view.statistics),
                **{str(spec.report_key): view.results.get(spec.stage) for spec in FOLLOW_UPS}}

    def delete(self, session_id: str) -> dict[str, int]:
        """Tombstone first, so no stage write lands after this; then delete what exists
        (the watchdog's purge removes stragglers of stages that were mid-flight)."""
        view = self._view(session_id)
        if not self.sessions.tombstone(session_id, view.client_token):
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
    return view.state is State.CRUNCHING_DATA and not view.start_sent


def _digest(session_id: str, source: str, payload: bytes) -> str:
    """What a replay must match to re-send a start (salted by the session id)."""
    return hashlib.sha256(f"{session_id}\n{source}\n".encode() + payload).hexdigest()


def _create_digest(session_id: str, body: CreateSessionBody) -> str:
    if body.dataKey is not None:
        return _digest(session_id, "gandalf", body.dataKey.get_secret_value().encode("utf-8"))
    if body.uploadId is not None:
        return _digest(session_id, "upload", body.uploadId.encode("utf-8"))
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


def session_document(view: SessionView) -> dict[str, Any]:
    percents = stage_percentages(view)
    stages: dict[str, dict[str, Any]] = {spec.label: {"percent": percents[stage]} for stage, spec in STAGES.items()}
    for stage, counters in view.chunks.items():
        stages[STAGES[stage].label].update(showsDone=counters.shows_done, showsFailed=counters.shows_failed,
                                           chunksDone=counters.chunks_done, chunksFailed=counters.chunks_failed)
    stages[STAGES[Stage.QUERY_ACTIVITIES].label].update(pagesDone=view.activity_pages_done,
                                                        pagesTotal=view.activity_pages_total)
    return {
        "sessionId": view.session_id, "state": view.state.value, "failureReason": view.failure_reason,
        "source": view.source, "thresholdPercent": view.threshold_percent, "stages": stages,
        "counters": {"totalShows": view.total_shows, "totalChunks": view.total_chunks,
                     "movies": view.movies, "activities": view.activities, "rejectedRows": view.rejected_rows},
        "createdAt": view.created_at, "updatedAt": view.updated_at, "completedAt": view.completed_at,
    }
