"""The API's response bodies, as pydantic models, so the OpenAPI document names every
answer's shape (one per route and status code) and a client can be generated from it.
Extra fields are allowed in answers: a newer server may add one without breaking clients."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from tvreport.schema import FOLLOW_UPS, STAGES
from tvreport.session_model import State


class FieldError(BaseModel):
    field: str = Field(description="where in the request, e.g. body.clientToken or path.session_id")
    message: str = Field(description="what is wrong with it")


class ErrorBody(BaseModel):
    """Every error answer of this API, whatever the status code."""
    message: str = Field(description="what is wrong, in words")
    errors: list[FieldError] | None = Field(default=None, description="per field, for a request that fails validation")


class StageProgress(BaseModel):
    percent: int = Field(ge=0, le=100, description="0 not started, 1-99 in progress, 100 done")
    pagesDone: int | None = None
    pagesTotal: int | None = None
    showsDone: int | None = None
    showsFailed: int | None = None
    chunksDone: int | None = None
    chunksFailed: int | None = None


# One field per stage, named by its API label (tvreport.schema), in pipeline order.
Stages = create_model("Stages", **{spec.label: (StageProgress, ...) for spec in STAGES.values()})  # type: ignore[call-overload]


class Counters(BaseModel):
    totalShows: int | None = None
    totalChunks: int | None = None
    movies: int | None = None
    activities: int | None = None
    rejectedRows: int | None = None


class SessionDocument(BaseModel):
    sessionId: str
    state: State
    failureReason: str | None = Field(default=None, description="a reason code when FAILED, e.g. CANCELLED")
    source: Literal["gandalf", "netflix_csv"] | None = None
    thresholdPercent: int
    stages: Stages  # built from the stage registry (mypy sees Any)
    counters: Counters
    createdAt: str | None = None
    updatedAt: str | None = None
    completedAt: str | None = None
    connectUrl: str | None = Field(default=None, description="AWAITING_CONNECTION only, in the create answer: "
                                   "where to send the person to link Netflix through Gandalf Connect")


class _ReportBase(BaseModel):
    sessionId: str
    partial: bool = Field(description="true when the watchdog completed the session with what it had")
    statistics: dict[str, Any] = Field(description="viewing statistics (top shows, genres, actor, scores)")


# Each follow-up stage's result under its report key (tvreport.schema).
Report = create_model("Report", __base__=_ReportBase,  # type: ignore[call-overload]
                      **{str(spec.report_key): (dict[str, Any] | None, None) for spec in FOLLOW_UPS})


class Deleted(BaseModel):
    viewingRecordsDeleted: int
    sessionItemsDeleted: int


class UploadTicket(BaseModel):
    """A presigned S3 POST: send the file as multipart/form-data to `url` with every
    field of `fields`, then the file last, as field `file`."""
    uploadId: str = Field(description="pass it to POST /sessions as uploadId once the upload is done")
    url: str
    fields: dict[str, str]
    maxBytes: int
    expiresInSeconds: int


def json_content(model: type[BaseModel], description: str) -> dict[str, Any]:
    """One `responses` entry of a Powertools route."""
    return {"description": description, "content": {"application/json": {"model": model}}}


ERROR_DESCRIPTIONS = {
    400: "an upload that is not a Netflix viewing-history export",
    404: "no such session or upload",
    409: "the session's state does not allow this call, or a client token reused with another request",
    413: "the request body is larger than the inline limit; use POST /uploads",
    422: "the request fails validation (details per field)",
    503: "the session could not be started (it is marked FAILED with START_FAILED)",
}


def responses(success: dict[int, tuple[type[BaseModel], str]], *errors: int) -> dict[int, Any]:
    """The `responses` of a route: its success answers and the error codes it may give
    (422 always: the resolver validates every request)."""
    documented = {code: json_content(model, text) for code, (model, text) in success.items()}
    for code in sorted({*errors, 422}):
        documented[code] = json_content(ErrorBody, ERROR_DESCRIPTIONS[code])
    return documented
