"""The API edge: request bodies and answers as pydantic models, so the OpenAPI
document names every shape (one per route and status code) and a client can be
generated from it; and the conversions between them and the session service's
domain values (`tvreport.session_service`).

camelCase happens here only: answer models have snake_case fields and pydantic's
camelCase alias generator, and `render` dumps them by alias; a follow-up stage's
result is dumped by its own model's aliases (`StageResult.api`). Extra fields are
allowed in answers: a newer server may add one without breaking clients."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, model_validator
from pydantic.alias_generators import to_camel

from tvreport.progress import stage_percentages
from tvreport.schema import FOLLOW_UPS, STAGES
from tvreport.session_model import SessionView, Stage, State
from tvreport.session_service import Deleted as DeletedCounts, NewSession, UploadTicket as Ticket

# Request bodies are counted in bytes (UTF-8), as Lambda and API Gateway count them.
# Lambda takes at most 6 MB (6,291,456 bytes) per synchronous event, and the proxy event
# carries the body as a JSON string, where escaping can double it (each `"` of a JSON
# body becomes `\"`): 3,000,000 bytes stays under 6 MB whatever the content, with room
# for headers and the request context. Larger exports go through POST /uploads.
MAX_INLINE_BODY_BYTES = 3_000_000
# A Gandalf dataKey is a few hundred characters at most; the cap keeps the queued
# message far below SQS's 256 KiB message limit (a larger key failed the send: 503).
MAX_DATA_KEY_CHARS = 2048
CLIENT_TOKEN_PATTERN = r"^[A-Za-z0-9._:-]{16,128}$"
UPLOAD_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class PayloadTooLarge(ValueError):
    pass


def check_inline_size(body_bytes: int) -> None:
    if body_bytes > MAX_INLINE_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is {body_bytes} bytes; inline bodies are at most "
                              f"{MAX_INLINE_BODY_BYTES} bytes: upload larger exports with POST /uploads")


# -- request bodies -------------------------------------------------------------------

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

    def to_request(self) -> NewSession:
        return NewSession(data_key=self.dataKey, netflix_csv=self.netflixCsv, upload_id=self.uploadId,
                          client_token=self.clientToken)


class ConnectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataKey: SecretStr = Field(json_schema_extra=_DATA_KEY_DOC)

    @model_validator(mode="after")
    def not_empty(self) -> ConnectBody:
        _check_data_key(self.dataKey)
        return self


# -- answers --------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="where in the request, e.g. body.clientToken or path.session_id")
    message: str = Field(description="what is wrong with it")


class ErrorBody(BaseModel):
    """Every error answer of this API, whatever the status code."""
    message: str = Field(description="what is wrong, in words")
    errors: list[FieldError] | None = Field(default=None, description="per field, for a request that fails validation")


class _Answer(BaseModel):
    """An answer: snake_case fields, shown by their camelCase aliases (`render`)."""
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class StageProgress(_Answer):
    percent: int = Field(ge=0, le=100, description="0 not started, 1-99 in progress, 100 done")
    pages_done: int | None = None
    pages_total: int | None = None
    shows_done: int | None = None
    shows_failed: int | None = None
    chunks_done: int | None = None
    chunks_failed: int | None = None


# One field per stage, named by its API label (tvreport.schema), in pipeline order.
Stages = create_model("Stages", **{spec.label: (StageProgress, ...) for spec in STAGES.values()})  # type: ignore[call-overload]


class Counters(_Answer):
    total_shows: int | None = None
    total_chunks: int | None = None
    movies: int | None = None
    activities: int | None = None
    rejected_rows: int | None = None


class SessionDocument(_Answer):
    session_id: str
    state: State
    failure_reason: str | None = Field(default=None, description="a reason code when FAILED, e.g. CANCELLED")
    source: Literal["gandalf", "netflix_csv"] | None = None
    threshold_percent: int
    stages: Stages  # built from the stage registry (mypy sees Any)
    counters: Counters
    created_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    connect_url: str | None = Field(default=None, description="AWAITING_CONNECTION only, in the create answer: "
                                    "where to send the person to link Netflix through Gandalf Connect")


class _ReportBase(_Answer):
    session_id: str
    partial: bool = Field(description="true when the watchdog completed the session with what it had")
    statistics: dict[str, Any] = Field(description="viewing statistics (top shows, genres, actor, scores)")


# Each follow-up stage's result under its report key (tvreport.schema; already the API's
# spelling, so an explicit alias), as its result model shows it (StageResult.api).
Report = create_model("Report", __base__=_ReportBase,  # type: ignore[call-overload]
                      **{str(spec.report_key): (dict[str, Any] | None, Field(default=None, alias=spec.report_key))
                         for spec in FOLLOW_UPS})


class Deleted(_Answer):
    viewing_records_deleted: int
    session_items_deleted: int


class UploadTicket(_Answer):
    """A presigned S3 POST: send the file as multipart/form-data to `url` with every
    field of `fields`, then the file last, as field `file`."""
    upload_id: str = Field(description="pass it to POST /sessions as uploadId once the upload is done")
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in_seconds: int


def render(answer: BaseModel) -> dict[str, Any]:
    """An answer as the API sends it: camelCase, JSON values, only the fields set (a
    stage shows only its own figures; connectUrl only in a create's answer)."""
    return answer.model_dump(mode="json", by_alias=True, exclude_unset=True)


def session_document(view: SessionView, connect_url: str | None = None) -> dict[str, Any]:
    """GET /sessions/{id}: state, each stage's percent (and its own figures), counters;
    `connect_url` only in the answer to a create that awaits a connection."""
    percents = stage_percentages(view)
    stages: dict[str, StageProgress] = {}
    for stage, spec in STAGES.items():
        figures: dict[str, int | None] = {}
        if stage is Stage.QUERY_ACTIVITIES:
            figures = {"pages_done": view.activity_pages_done, "pages_total": view.activity_pages_total}
        elif (counters := view.chunks.get(stage)) is not None:
            figures = {"shows_done": counters.shows_done, "shows_failed": counters.shows_failed,
                       "chunks_done": counters.chunks_done, "chunks_failed": counters.chunks_failed}
        stages[spec.label] = StageProgress(percent=percents[stage], **figures)
    document = SessionDocument(
        session_id=view.session_id, state=view.state, failure_reason=view.failure_reason,
        source=view.source, threshold_percent=view.threshold_percent, stages=Stages(**stages),
        counters=Counters(total_shows=view.total_shows, total_chunks=view.total_chunks, movies=view.movies,
                          activities=view.activities, rejected_rows=view.rejected_rows),
        created_at=view.created_at, updated_at=view.updated_at, completed_at=view.completed_at,
        **({"connect_url": connect_url} if connect_url is not None else {}))
    return render(document)


def report_document(view: SessionView) -> dict[str, Any]:
    """A completed session's report: statistics as stored (already the API's JSON) and
    each follow-up stage's result under its report key."""
    results = {str(spec.report_key): (r.api() if (r := view.results.get(spec.stage)) is not None else None)
               for spec in FOLLOW_UPS}
    return render(Report(session_id=view.session_id, partial=view.report_partial,
                         statistics=dict(view.statistics), **results))


def deleted_document(deleted: DeletedCounts) -> dict[str, Any]:
    return render(Deleted(viewing_records_deleted=deleted.viewing_records,
                          session_items_deleted=deleted.session_items))


def upload_document(ticket: Ticket) -> dict[str, Any]:
    return render(UploadTicket(upload_id=ticket.upload_id, url=ticket.url, fields=ticket.fields,
                               max_bytes=ticket.max_bytes, expires_in_seconds=ticket.expires_in_seconds))


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
