"""The REST API (API Gateway proxy): sessions, their progress and their report.
Routes and the OpenAPI document come from the Powertools resolver."""
from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext

from tvreport import wiring
from tvreport.observability import logger, metrics, tracer
from tvreport.session_api import (
    ConnectBody, CreateSessionBody, InvalidUpload, SessionConflict, SessionNotFound, SessionService, StartFailed,
)

app = APIGatewayRestResolver(enable_validation=True)
_settings = wiring.api_settings()
service = SessionService(wiring.sessions(), wiring.viewing(), _settings.activities_queue_url,
                         _settings.uploads_bucket, wiring.pipeline().threshold_percent)
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f-]+$")]


def _error(status: int, message: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"message": message})


@app.exception_handler(SessionNotFound)
def _not_found(error: SessionNotFound) -> Response:
    return _error(404, str(error))


@app.exception_handler(SessionConflict)
def _conflict(error: SessionConflict) -> Response:
    return _error(409, str(error))


@app.exception_handler(InvalidUpload)
def _invalid_upload(error: InvalidUpload) -> Response:
    return _error(400, f"not a Netflix viewing-history export: {error}")


@app.exception_handler(StartFailed)
def _start_failed(error: StartFailed) -> Response:
    logger.exception("session start failed")
    return _error(503, str(error))


@app.post("/sessions", summary="Create a session (starts at once with a dataKey or an export)")
def create_session(body: CreateSessionBody):  # no return annotation: Response has no schema
    document, created = service.create(body)
    logger.append_keys(session_id=document["sessionId"])
    return Response(status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=document)


@app.post("/sessions/<session_id>/connect", summary="Start a waiting session with a Gandalf dataKey")
def connect_session(session_id: SessionId, body: ConnectBody) -> dict:
    logger.append_keys(session_id=session_id)
    return service.connect(session_id, body)


@app.get("/sessions/<session_id>", summary="State and per-stage progress")
def get_session(session_id: SessionId) -> dict:
    return service.describe(session_id)


@app.get("/sessions/<session_id>/report", summary="The TV report of a completed session")
def get_report(session_id: SessionId) -> dict:
    return service.report(session_id)


@app.delete("/sessions/<session_id>", summary="Delete the session and its personal data")
def delete_session(session_id: SessionId) -> dict:
    logger.append_keys(session_id=session_id)
    return service.delete(session_id)


@app.get("/openapi.json", summary="This API's OpenAPI document")
def openapi():
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=app.get_openapi_json_schema(title="TV report API", version="1.0.0"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)  # no report, no session in X-Ray
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
