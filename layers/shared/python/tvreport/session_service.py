"""The session service: what the API does with sessions, apart from HTTP. Create
(idempotent with a client token), connect, describe, report, cancel, delete, and
presigned uploads, over the repositories; it takes and returns domain values
(`NewSession`, `SessionView`, `Deleted`, `UploadTicket`). Errors are typed; the API
handler maps each type to a status code, and `tvreport.api_models` turns requests
into these values and the answers into the API's JSON."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import NoReturn

from botocore.exceptions import ClientError
from pydantic import SecretStr

from tvreport import aws, publisher
from tvreport.messages import ActivitiesRequest
from tvreport.netflix.csv_reader import CsvFormatError, read_netflix_csv
from tvreport.observability import logger
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.schema import incoming_upload_key, upload_key
from tvreport.session_model import SessionView, State
from tvreport.stages.history import group_plays
from tvreport.stages.purge import purge_session

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a heavy viewer's export is a few MB
UPLOAD_EXPIRES_SECONDS = 15 * 60


class SessionNotFound(LookupError):
    pass


class SessionConflict(RuntimeError):
    """The session is not in a state that allows this call."""


class InvalidUpload(ValueError):
    pass


class UploadNotFound(LookupError):
    pass


class TooManyShows(ValueError):
    """An export with more distinct shows than one session may have (422)."""


class StartFailed(RuntimeError):
    """The session could not be created or its first message queued. A request that
    can be repeated (a clientToken, a connect) re-sends the start on the repeat;
    otherwise the session is marked FAILED so it never waits for work never sent."""


@dataclass(frozen=True)
class NewSession:
    """What a create asks for: at most one source (none: the session awaits a
    connection), and an optional client token that makes the create idempotent."""

    data_key: SecretStr | None = None  # a Gandalf dataKey: a credential, never logged
    netflix_csv: str | None = None  # an export, inline
    upload_id: str | None = None  # an export uploaded through POST /uploads
    client_token: str | None = None

    def digest(self) -> str:
        """SHA-256 of the request without its token, salted by the token and bound to
        it: a replay must be the same request. The dataKey enters only hashed. The
        canonical form (the API's field names) is stored with each token: keep it."""
        fields = {"dataKey": self.data_key and self.data_key.get_secret_value(),
                  "netflixCsv": self.netflix_csv, "uploadId": self.upload_id}
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(f"{self.client_token}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class UploadTicket:
    """A presigned S3 POST for one export."""

    upload_id: str
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in_seconds: int


@dataclass(frozen=True)
class Deleted:
    viewing_records: int
    session_items: int  # the session item (now a tombstone), its ledger and token items


@dataclass
class SessionService:
    sessions: SessionRepository
    viewing: ViewingRepository
    activities_queue_url: str
    uploads_bucket: str
    threshold_percent: int
    max_shows: int = 10_000  # distinct shows per session (deploy option max_shows_per_session)

    def create(self, new: NewSession) -> tuple[SessionView, bool]:
        """The session, and whether this call created it (False: a replay)."""
        request_digest = new.digest() if new.client_token else None
        # A token already used: the same request (else ClientTokenReused) is a replay,
        # whose export was checked (and an upload moved) the first time.
        replay = bool(new.client_token) and self.sessions.token_session(
            new.client_token, request_digest) is not None  # type: ignore[arg-type]  # bool() narrows it
        if new.netflix_csv is not None and not replay:
            _check_export(new.netflix_csv, self.max_shows)
        if new.upload_id is not None and not replay:
            self._check_upload(new.upload_id)
        has_export = new.netflix_csv is not None or new.upload_id is not None
        source = "gandalf" if new.data_key else ("netflix_csv" if has_export else None)
        state = State.CRUNCHING_DATA if source else State.AWAITING_CONNECTION
        new_id = str(uuid.uuid4())
        try:
            session_id, created = self.sessions.create(
                new_id, source=source, state=state, threshold_percent=self.threshold_percent,
                client_token=new.client_token, start_digest=_create_digest(new_id, new) if source else None,
                request_digest=request_digest)
        except ClientError as error:  # cancelled past its retries, or throttled past botocore's
            raise StartFailed("the session could not be created; repeat the request to retry") from error
        view = self._view(session_id)  # a token whose session was deleted answers 404
        if source and _start_pending(view):
            # A new session, or the replay of a create that died before its start was
            # queued: the same request (same digest) queues the start; another is refused.
            if not created and view.start_digest != _create_digest(session_id, new):
                raise SessionConflict("this clientToken belongs to another request")
            if not created:
                logger.info("start re-sent for a replayed create")
            self._start_created(session_id, new, replayable=bool(new.client_token))
        return self._view(session_id), created

    def _start_created(self, session_id: str, new: NewSession, replayable: bool) -> None:
        if new.data_key is not None:
            self._start(ActivitiesRequest(session_id=session_id, source="gandalf", data_key=new.data_key),
                        replayable)
            return
        key = upload_key(session_id)
        try:  # a replay writes the same bytes to the same key
            self._store_export(new, key)
        except Exception as error:
            self._start_failed(session_id, error, replayable, "the export could not be stored")
        self._start(ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key=key), replayable)

    def connect(self, session_id: str, data_key: SecretStr) -> SessionView:
        self._view(session_id)
        digest = _digest(session_id, "gandalf", data_key.get_secret_value().encode("utf-8"))
        if not self.sessions.connect(session_id, "gandalf", digest):
            view = self._view(session_id)
            # A repeated connect re-sends a start that was never queued, with the same key only.
            if not (_start_pending(view) and view.start_digest == digest):
                raise SessionConflict("the session is not awaiting a connection")
            logger.info("start re-sent for a repeated connect")
        self._start(ActivitiesRequest(session_id=session_id, source="gandalf", data_key=data_key),
                    replayable=True)
        return self._view(session_id)

    def cancel(self, session_id: str) -> SessionView:
        """End a waiting or crunching session as FAILED (CANCELLED); stages drop its work."""
        self._view(session_id)
        if not self.sessions.cancel(session_id, by="the client"):
            raise SessionConflict(f"the session has already ended ({self._view(session_id).state.value})")
        return self._view(session_id)

    def new_upload(self) -> UploadTicket:
        """A presigned S3 POST for one export: size-capped, text/csv only, expiring."""
        upload_id = str(uuid.uuid4())
        post = aws.client("s3").generate_presigned_post(
            Bucket=self.uploads_bucket, Key=incoming_upload_key(upload_id), Fields={"Content-Type": "text/csv"},
            Conditions=[{"Content-Type": "text/csv"}, ["content-length-range", 1, MAX_UPLOAD_BYTES]],
            ExpiresIn=UPLOAD_EXPIRES_SECONDS)
        return UploadTicket(upload_id=upload_id, url=post["url"], fields=post["fields"], max_bytes=MAX_UPLOAD_BYTES,
                            expires_in_seconds=UPLOAD_EXPIRES_SECONDS)

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

    def _store_export(self, new: NewSession, key: str) -> None:
        """The export lives at uploads/<session id>.csv, where the stages read it and
        DELETE removes it; an upload is moved there (S3 has no rename)."""
        s3 = aws.client("s3")
        if new.upload_id is None:
            s3.put_object(Bucket=self.uploads_bucket, Key=key,  # an export has one of the two
                          Body=new.netflix_csv.encode("utf-8"),  # type: ignore[union-attr]
                          ContentType="text/csv")
            return
        source = incoming_upload_key(new.upload_id)
        try:
            s3.copy_object(Bucket=self.uploads_bucket, Key=key,
                           CopySource={"Bucket": self.uploads_bucket, "Key": source})
        except ClientError as error:  # a replay: moved already, if the session's copy is there
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey"):
                raise
            s3.head_object(Bucket=self.uploads_bucket, Key=key)
        s3.delete_object(Bucket=self.uploads_bucket, Key=source)

    def connect_once(self, session_id: str, data_key: SecretStr) -> bool:
        """The Gandalf Connect callback: start a waiting session; a replay (the session
        has moved on) sends nothing again. False when nothing was started."""
        try:
            self.connect(session_id, data_key)
        except SessionConflict:
            return False
        return True

    def describe(self, session_id: str) -> SessionView:
        return self._view(session_id)

    def report(self, session_id: str) -> SessionView:
        """A completed session, whose view holds the report (statistics and results)."""
        view = self._view(session_id)
        if view.state is not State.COMPLETED:
            raise SessionConflict(f"the report is ready when the session is COMPLETED (now {view.state.value})")
        return view

    def delete(self, session_id: str) -> Deleted:
        """Tombstone first, so no stage write lands after this; then delete what exists
        (the watchdog's purge removes stragglers of stages that were mid-flight)."""
        view = self._view(session_id)
        if not self.sessions.tombstone(session_id, view.client_token):
            raise SessionNotFound(f"no session {session_id}")
        purged = purge_session(session_id, self.sessions, self.viewing, remove_tombstone=False,
                               uploads_bucket=self.uploads_bucket)
        # the session item itself is gone too, replaced by its tombstone
        return Deleted(viewing_records=purged.viewing_records, session_items=purged.session_items + 1)

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


def _create_digest(session_id: str, new: NewSession) -> str:
    if new.data_key is not None:
        return _digest(session_id, "gandalf", new.data_key.get_secret_value().encode("utf-8"))
    if new.upload_id is not None:
        return _digest(session_id, "upload", new.upload_id.encode("utf-8"))
    return _digest(session_id, "netflix_csv", (new.netflix_csv or "").encode("utf-8"))


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
