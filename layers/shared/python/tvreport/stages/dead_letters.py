"""Dead letters: a message that exhausted its retries is recorded as executed-but-
failed, so its session still finishes (or fails with a reason) instead of waiting."""
from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from tvreport.messages import CHUNK_MESSAGES, ActivitiesRequest, AiStageRequest
from tvreport.observability import UNREADABLE_DEAD_LETTERS, logger, metrics
from tvreport.repositories.protocols import SessionStore
from tvreport.results import StageResult
from tvreport.schema import CHUNKED, STAGES
from tvreport.session_model import SessionView, Stage


class UnknownDeadLetterSource(RuntimeError):
    pass


@dataclass
class DeadLetterDeps:
    sessions: SessionStore
    sources: dict[str, Stage]  # DLQ ARN -> stage


def handle(body: str, source_arn: str, deps: DeadLetterDeps) -> None:
    stage = deps.sources.get(source_arn)
    if stage is None:
        raise UnknownDeadLetterSource(f"no stage is mapped to {source_arn}")
    try:
        _record(stage, body, deps.sessions)
    except ValidationError as error:
        # Unreadable: nothing to count. Logged without the body (it may hold a dataKey).
        logger.error("unreadable dead letter", extra={"stage": stage.value, "errors": error.error_count()})
        metrics.add_metric(name=UNREADABLE_DEAD_LETTERS, unit=MetricUnit.Count, value=1)


def superseded(view: SessionView, request: ActivitiesRequest) -> bool:
    """The history is split already, or another chain has stored the pages this
    message was to fetch: its dead letter must not fail the session."""
    return view.activities_done or view.activity_pages_done >= request.next_page


def _record(stage: Stage, body: str, sessions: SessionStore) -> None:
    if stage is Stage.QUERY_ACTIVITIES:
        request = ActivitiesRequest.model_validate_json(body)
        view = sessions.get(request.session_id)
        if view is not None and superseded(view, request):
            # A duplicate hand-off chain: the other chain got past this message.
            logger.info("dead-lettered history slice already fetched by another chain",
                        extra={"next_page": request.next_page, "pages_done": view.activity_pages_done})
        else:
            sessions.fail(request.session_id, "UPSTREAM_UNAVAILABLE", "the viewing history could not be fetched")
    elif STAGES[stage].chunked:
        chunk = CHUNK_MESSAGES[stage].model_validate_json(body)
        # Never forwarded, so no later chunked stage will see it either: each counts it failed.
        for later in CHUNKED[CHUNKED.index(STAGES[stage]):]:
            sessions.count_chunk(chunk.session_id, later.stage, chunk.chunk_id, shows_done=0,
                                 shows_failed=chunk.shows_in_chunk, dead_lettered=True)
    elif STAGES[stage].follow_up:  # any follow-up stage: its result is "failed", so COMPLETED can follow
        request_ai = AiStageRequest.model_validate_json(body)
        sessions.store_ai_result(request_ai.session_id, request_ai.stage, StageResult.unavailable("STAGE_FAILED"))
    else:
        raise UnknownDeadLetterSource(f"no dead-letter rule for stage {stage.value}")
    metrics.add_metric(name="DeadLetters", unit=MetricUnit.Count, value=1)
    logger.warning("dead letter recorded", extra={"stage": stage.value})
