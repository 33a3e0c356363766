"""The REST API (API Gateway proxy): sessions, their progress and their report.
Routes, response models and the OpenAPI document come from the Powertools resolver;
every error answer is one shape, `ErrorBody` (`message`, optional per-field `errors`)."""
from __future__ import annotations

import pathlib
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from tvreport import connect, wiring
from tvreport.api_models import (
    ConnectBody,
    CreateSessionBody,
    Deleted,
    PayloadTooLarge,
    Report,
    SessionDocument,
    UploadTicket,
    check_inline_size,
    deleted_document,
    report_document,
    responses,
    session_document,
    upload_document,
)
from tvreport.observability import logger, metrics, tracer
from tvreport.repositories.sessions import ClientTokenReused
from tvreport.secrets import get_secret
from tvreport.session_model import State
from tvreport.session_service import (
    InvalidUpload,
    SessionConflict,
    SessionNotFound,
    SessionService,
    StartFailed,
    TooManyShows,
    UploadNotFound,
)
from tvreport.settings import ConnectSettings

TITLE, VERSION = "TV report API", "1.0.0"
_origins = wiring.api_edge_settings().origins
_cors = CORSConfig(allow_origin=_origins[0], extra_origins=_origins[1:], allow_headers=["X-Api-Key"],
                   max_age=600) if _origins else None
app = APIGatewayRestResolver(enable_validation=True, cors=_cors)
app.enable_swagger(path="/docs", title=TITLE, version=VERSION)
_settings = wiring.api_settings()
service = SessionService(wiring.sessions(), wiring.viewing(), _settings.activities_queue_url,
                         _settings.uploads_bucket, wiring.pipeline().threshold_percent,
                         max_shows=wiring.pipeline().max_shows_per_session)
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f-]+$")]
_SESSION = (SessionDocument, "the session document")


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _body_bytes() -> int:
    body = app.current_event.decoded_body
    return len(body.encode("utf-8")) if body else 0


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response:
    """The resolver's own 422, in our error shape. Pydantic's messages name the rule
    broken, never the value given, so no dataKey is echoed."""
    try:
        check_inline_size(_body_bytes())
    except PayloadTooLarge as too_large:
        return _error(413, str(too_large))
    fields = [{"field": ".".join(str(part) for part in e["loc"]),
               "message": str(e["msg"]).removeprefix("Value error, ")} for e in error.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:3])
    return _error(422, f"the request is not valid: {summary}", fields)


@app.exception_handler(UnicodeDecodeError)
def _not_utf8(_: UnicodeDecodeError) -> Response:
    return _error(422, "the request body is not UTF-8 text: send JSON encoded as UTF-8")


@app.not_found
def _no_route(_: Exception) -> Response:
    return _error(404, f"no route {app.current_event.http_method} {app.current_event.path}")


@app.exception_handler(PayloadTooLarge)
def _too_large(error: PayloadTooLarge) -> Response:
    return _error(413, str(error))


@app.exception_handler(SessionNotFound)
@app.exception_handler(UploadNotFound)
def _not_found(error: LookupError) -> Response:
    return _error(404, str(error))


@app.exception_handler(SessionConflict)
def _conflict(error: SessionConflict) -> Response:
    return _error(409, str(error))


@app.exception_handler(ClientTokenReused)
def _token_reused(error: ClientTokenReused) -> Response:
    return _error(409, f"{error}: a clientToken names one request; use a new token for a new request")


@app.exception_handler(InvalidUpload)
def _invalid_upload(error: InvalidUpload) -> Response:
    return _error(400, f"not a Netflix viewing-history export: {error}")


@app.exception_handler(TooManyShows)
def _too_many_shows(error: TooManyShows) -> Response:
    return _error(422, str(error))


@app.exception_handler(StartFailed)
def _start_failed(error: StartFailed) -> Response:
    logger.exception("session start failed")
    return _error(503, str(error))


@app.post("/sessions", summary="Create a session (starts at once with a dataKey, an export or an upload)",
          responses=responses({201: _SESSION, 200: (SessionDocument, "a replay of the same clientToken and body")},
                              400, 404, 409, 413, 503))
def create_session(body: CreateSessionBody):  # no return annotation: Response has no schema
    check_inline_size(_body_bytes())
    view, created = service.create(body.to_request())
    logger.append_keys(session_id=view.session_id)
    awaiting = view.state is State.AWAITING_CONNECTION
    document = session_document(view, connect_url=_connect_url(view.session_id) if awaiting else None)
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=document)


@app.post("/uploads", summary="A presigned S3 POST for an export larger than an inline body",
          responses=responses({201: (UploadTicket, "where and how to upload the export")}))
def create_upload():
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON,
                    body=upload_document(service.new_upload()))


@app.post("/sessions/<session_id>/connect", summary="Start a waiting session with a Gandalf dataKey",
          responses=responses({200: _SESSION}, 404, 409, 503))
def connect_session(session_id: SessionId, body: ConnectBody) -> dict:
    logger.append_keys(session_id=session_id)
    return session_document(service.connect(session_id, body.dataKey))


@app.post("/sessions/<session_id>/cancel", summary="End a waiting or crunching session (FAILED, CANCELLED)",
          responses=responses({200: _SESSION}, 404, 409))
def cancel_session(session_id: SessionId) -> dict:
    logger.append_keys(session_id=session_id)
    return session_document(service.cancel(session_id))


@app.get("/sessions/<session_id>", summary="State and per-stage progress", responses=responses({200: _SESSION}, 404))
def get_session(session_id: SessionId) -> dict:
    return session_document(service.describe(session_id))


@app.get("/sessions/<session_id>/report", summary="The TV report of a completed session",
         responses=responses({200: (Report, "the report")}, 404, 409))
def get_report(session_id: SessionId) -> dict:
    return report_document(service.report(session_id))


@app.delete("/sessions/<session_id>", summary="Delete the session and its personal data",
            responses=responses({200: (Deleted, "what was deleted")}, 404))
def delete_session(session_id: SessionId) -> dict:
    logger.append_keys(session_id=session_id)
    return deleted_document(service.delete(session_id))


# -- Gandalf Connect and the web page (docs/architecture.md, "Web page and Connect") --

WEB_PAGE = pathlib.Path(__file__).parent / "web" / "index.html"


@lru_cache(maxsize=1)
def _connect_settings() -> ConnectSettings:
    return ConnectSettings.from_env()


def _connect_url(session_id: str) -> str:
    # the secret is cached by Powertools (tvreport.secrets); a rotated key shows within minutes
    public_key = connect.public_key_hex(get_secret("gandalf") or "")
    callback = f"{connect.public_base_url(app.current_event.raw_event)}/sessions/{session_id}/callback"
    return connect.connect_url(_connect_settings().gandalf_connect_url, public_key, callback)


@app.get("/sessions/<session_id>/callback", summary="Gandalf Connect returns here with a dataKey",
         responses={302: {"description": "to the session's web page, {api}/?session={id}"},
                    404: {"description": "no such session"}})
def connect_callback(session_id: SessionId,
                     data_key: Annotated[str | None, Query(alias="dataKey", max_length=4096)] = None):
    """Starts the waiting session once and sends the browser to its page; a replay,
    or a return without a dataKey (the person cancelled), starts nothing."""
    logger.append_keys(session_id=session_id)
    started = False
    if data_key and data_key.strip():
        try:
            started = service.connect_once(session_id, ConnectBody(dataKey=data_key).dataKey)
        except StartFailed:  # the session is FAILED (START_FAILED): its page says so
            logger.exception("session start failed")
    else:
        service.describe(session_id)  # 404 for an unknown session
    logger.info("connect callback", extra={"started": started, "with_data_key": bool(data_key)})
    page = f"{connect.public_base_url(app.current_event.raw_event)}/?session={session_id}"
    return Response(status_code=302, headers={"Location": page, "Cache-Control": "no-store"}, body="")


@app.get("/", summary="The web page: upload an export or link Netflix, watch the stages, read the report",
         responses={200: {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}})
def web_page():
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=_web_page(),
                    headers={"Cache-Control": "no-cache"})


@lru_cache(maxsize=1)
def _web_page() -> str:
    return WEB_PAGE.read_text(encoding="utf-8")


@app.get("/openapi.json", summary="This API's OpenAPI document",
         responses={200: {"description": "OpenAPI 3.1",
                          "content": {"application/json": {"schema": {"type": "object"}}}}})
def openapi():
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=app.get_openapi_json_schema(title=TITLE, version=VERSION))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)  # no report, no session in X-Ray
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
