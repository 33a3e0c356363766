"""What the API does with sessions, apart from HTTP: create (idempotent with a client
token), connect, describe, report, delete. Errors are typed; the API handler maps
each type to a status code."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from tvreport import aws, publisher
from tvreport.messages import ActivitiesRequest
from tvreport.netflix.csv_reader import CsvFormatError, read_netflix_csv
from tvreport.progress import stage_percentages
from tvreport.repositories._dynamo import from_dynamo
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import SessionView, Stage, State

MAX_CSV_CHARS = 5_000_000  # API Gateway accepts 10 MB bodies; exports are far smaller


class SessionNotFound(LookupError):
    pass


class SessionConflict(RuntimeError):
    """The session is not in a state that allows this call."""


class InvalidUpload(ValueError):
    pass


class StartFailed(RuntimeError):
    """The first message could not be queued; the session is marked FAILED so it never
    waits for work that was never sent."""


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

    def create(self, body: CreateSessionBody) -> tuple[dict[str, Any], bool]:
        if body.netflixCsv is not None:
            _check_export(body.netflixCsv)
        source = "gandalf" if body.dataKey else ("netflix_csv" if body.netflixCsv is not None else None)
        state = State.CRUNCHING_DATA if source else State.AWAITING_CONNECTION
        session_id, created = self.sessions.create(
            str(uuid.uuid4()), source=source, state=state, threshold_percent=self.threshold_percent,
            client_token=body.clientToken)
        if created and source == "netflix_csv":
            key = f"uploads/{session_id}.csv"
            try:
                aws.client("s3").put_object(Bucket=self.uploads_bucket, Key=key,
                                            Body=body.netflixCsv.encode("utf-8"), ContentType="text/csv")
            except Exception as error:
                self.sessions.fail(session_id, "START_FAILED", type(error).__name__)
                raise StartFailed("the export could not be stored; create a new session") from error
            self._start(ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key=key))
        elif created and source == "gandalf":
            self._start(ActivitiesRequest(session_id=session_id, source="gandalf", data_key=body.dataKey))
        return self.describe(session_id), created

    def connect(self, session_id: str, body: ConnectBody) -> dict[str, Any]:
        self._view(session_id)
        if not self.sessions.connect(session_id, "gandalf"):
            raise SessionConflict("the session is not awaiting a connection")
        self._start(ActivitiesRequest(session_id=session_id, source="gandalf", data_key=body.dataKey))
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
        self._view(session_id)
        records = self.viewing.delete_session(session_id)
        aws.client("s3").delete_object(Bucket=self.uploads_bucket, Key=f"uploads/{session_id}.csv")
        items = self.sessions.delete(session_id)
        return {"viewingRecordsDeleted": records, "sessionItemsDeleted": items}

    def _view(self, session_id: str) -> SessionView:
        view = self.sessions.get(session_id)
        if view is None:
            raise SessionNotFound(f"no session {session_id}")
        return view

    def _start(self, request: ActivitiesRequest) -> None:
        try:
            publisher.send(self.activities_queue_url, [request])
        except Exception as error:
            self.sessions.fail(request.session_id, "START_FAILED", type(error).__name__)
            raise StartFailed("the session could not be started; create a new one") from error


def _check_export(text: str) -> None:
    """Reject an upload that is not a Netflix export at once (400), before any work."""
    try:
        result = read_netflix_csv(text)
    except CsvFormatError as error:
        raise InvalidUpload(str(error)) from error
    if not result.activities:
        raise InvalidUpload(f"the export has no readable rows ({len(result.rejected)} rejected)")


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
