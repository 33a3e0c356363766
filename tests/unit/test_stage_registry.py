"""The stage registry (tvreport.schema) against the code that must cover each stage.

Expectations come from the registry, so a stage added there but left half-wired
(no handler, never emitted, not counted, not dead-letter-accounted, not required
before COMPLETED, no queue URL in the tracker's settings) fails here, in the unit
tier. The stack's side is tests/infrastructure/test_stage_wiring.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tvreport import api_models, messages, schema
from tvreport.api_models import session_document
from tvreport.messages import AiStageRequest
from tvreport.progress import decide, stage_percentages
from tvreport.results import StageResult
from tvreport.schema import FOLLOW_UPS, STAGES, Stage, StageSpec, Trigger
from tvreport.session_model import ChunkCounters, SessionView
from tvreport.settings import ConfigError, TriggerSettings
from tvreport.stages import dead_letters, watchdog

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
FOLLOW_UP_IDS = [spec.stage.value for spec in FOLLOW_UPS]


def view(**attributes: Any) -> SessionView:
    item = {"session_id": "s1", "state": "CRUNCHING_DATA", "threshold_percent": 97,
            "total_shows": 100, "total_chunks": 2, **attributes}
    return SessionView.from_item(item)


def all_chunks_executed() -> dict[str, int]:
    return {f"{spec.counter_prefix}_{name}": value for spec in schema.CHUNKED
            for name, value in (("shows_done", 100), ("chunks_done", 2))}


def flags(suffix: str, *, leave_out: Stage | None = None) -> dict[str, str]:
    return {f"{spec.trigger_flag}_{suffix}": "2026-01-01T00:00:00Z" for spec in FOLLOW_UPS if spec.stage is not leave_out}


def test_every_stage_has_one_spec_and_the_registry_keeps_pipeline_order() -> None:
    assert list(STAGES) == list(Stage)
    assert all(STAGES[stage].stage is stage for stage in Stage)


def test_the_ai_stages_are_follow_ups_and_the_enrichment_stages_chunked() -> None:
    assert {Stage.TV_BFF, Stage.STAR_SIGN} <= {spec.stage for spec in FOLLOW_UPS}
    assert [spec.stage for spec in schema.CHUNKED] == [Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES]


@pytest.mark.parametrize("stage", list(Stage), ids=lambda s: s.value)
def test_every_stage_has_a_handler_in_its_lambda_folder(stage: Stage) -> None:
    assert (LAMBDAS / STAGES[stage].folder / "handler.py").is_file()


def test_a_half_declared_follow_up_is_refused() -> None:
    with pytest.raises(ValueError, match="follow-up"):
        StageSpec(Stage.TV_BFF, folder="x", label="x", trigger_flag="x")  # no trigger, no report key
    with pytest.raises(ValueError, match="chunked or a follow-up"):
        StageSpec(Stage.TV_BFF, folder="x", label="x", counter_prefix="x", trigger_flag="x",
                  trigger=Trigger.THRESHOLD, report_key="x")


@pytest.mark.parametrize("spec", FOLLOW_UPS, ids=FOLLOW_UP_IDS)
def test_every_follow_up_is_emitted_once_its_trigger_holds(spec: StageSpec) -> None:
    ready = view(**all_chunks_executed())
    assert spec.stage in decide(ready).emit
    claimed = view(**all_chunks_executed(), **flags("requested_at"))
    assert spec.stage not in decide(claimed).emit


@pytest.mark.parametrize("spec", FOLLOW_UPS, ids=FOLLOW_UP_IDS)
def test_every_follow_up_is_required_before_completed(spec: StageSpec) -> None:
    done = {**all_chunks_executed(), **flags("requested_at"), **flags("sent_at")}
    assert decide(view(**done, **flags("done_at"))).complete
    assert not decide(view(**done, **flags("done_at", leave_out=spec.stage))).complete
    assert spec.required_before_completed


@pytest.mark.parametrize("spec", FOLLOW_UPS, ids=FOLLOW_UP_IDS)
def test_every_follow_up_is_counted_in_the_progress_and_the_documents(spec: StageSpec) -> None:
    requested, finished = view(**flags("requested_at")), view(**flags("requested_at"), **flags("done_at"))
    assert stage_percentages(requested)[spec.stage] == 1
    assert stage_percentages(finished)[spec.stage] == 100
    assert session_document(finished)["stages"][spec.label] == {"percent": 100}
    assert spec.label in api_models.Stages.model_fields
    assert spec.report_key in api_models.Report.model_fields


def test_the_session_document_names_every_stage_by_its_label_in_order() -> None:
    assert list(session_document(view())["stages"]) == [spec.label for spec in STAGES.values()]


@dataclass
class RecordingSessions:
    """Only what dead_letters calls for a follow-up stage's message."""

    stored: list[tuple[str, Stage, StageResult]] = field(default_factory=list)

    def store_ai_result(self, session_id: str, stage: Stage, result: StageResult) -> bool:
        self.stored.append((session_id, stage, result))
        return True


@pytest.mark.parametrize("spec", FOLLOW_UPS, ids=FOLLOW_UP_IDS)
def test_every_follow_up_is_dead_letter_accounted(spec: StageSpec) -> None:
    sessions = RecordingSessions()
    deps = dead_letters.DeadLetterDeps(sessions, {"arn:dlq": spec.stage})  # type: ignore[arg-type]
    body = AiStageRequest(session_id="s1", stage=spec.stage).model_dump_json()
    dead_letters.handle(body, "arn:dlq", deps)
    assert sessions.stored == [("s1", spec.stage, StageResult(available=False, reason="STAGE_FAILED"))]
    assert sessions.stored[0][2].api() == {"available": False, "reason": "STAGE_FAILED"}


def test_an_ai_request_names_only_a_follow_up_stage() -> None:
    for spec in FOLLOW_UPS:
        assert AiStageRequest.model_validate_json(f'{{"session_id": "s", "stage": "{spec.stage.value}"}}').stage \
            is spec.stage
    with pytest.raises(ValueError, match="not a follow-up"):
        AiStageRequest(session_id="s", stage=Stage.QUERY_SHOW_DATA)


def test_the_tracker_needs_every_follow_up_queue_url() -> None:
    environment = {spec.queue_url_key: f"https://sqs/{spec.folder}" for spec in FOLLOW_UPS}
    environment[STAGES[Stage.QUERY_SHOW_DATA].queue_url_key] = "https://sqs/show-data"
    settings = TriggerSettings.from_env(environment)
    assert settings.follow_up_queue_urls() == {spec.stage: f"https://sqs/{spec.folder}" for spec in FOLLOW_UPS}
    for spec in FOLLOW_UPS:
        without = {key: value for key, value in environment.items() if key != spec.queue_url_key}
        with pytest.raises(ConfigError, match=spec.queue_url_key):
            TriggerSettings.from_env(without)


# -- chunked stages (schema.CHUNKED): read, counted, shown, gating, dead-letter-accounted --

CHUNKED_IDS = [spec.stage.value for spec in schema.CHUNKED]


def executed_except(left_out: StageSpec, **counts: int) -> dict[str, int]:
    """Every chunked stage's chunks executed but `left_out`'s, which has `counts`."""
    item = {key: value for key, value in all_chunks_executed().items()
            if not key.startswith(f"{left_out.counter_prefix}_")}
    return {**item, **{f"{left_out.counter_prefix}_{name}": value for name, value in counts.items()}}


@pytest.mark.parametrize("spec", schema.CHUNKED, ids=CHUNKED_IDS)
def test_every_chunked_stage_has_a_chunk_message(spec: StageSpec) -> None:
    model = messages.STAGE_MESSAGES[spec.stage]
    assert issubclass(model, messages.ChunkMessage) and messages.CHUNK_MESSAGES[spec.stage] is model
    chunk = model.model_validate({"session_id": "s1", "chunk_id": 7, "shows": []})
    assert (chunk.session_id, chunk.chunk_id, chunk.shows_in_chunk) == ("s1", 7, 0)


def test_a_chunked_stage_without_a_chunk_message_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    last = schema.CHUNKED[-1].stage
    monkeypatch.setattr(messages, "CHUNK_MESSAGES", {s: m for s, m in messages.CHUNK_MESSAGES.items() if s is not last})
    with pytest.raises(ValueError, match="chunked stages .* and chunk messages .* differ"):
        messages._check_messages()


@pytest.mark.parametrize("spec", schema.CHUNKED, ids=CHUNKED_IDS)
def test_every_chunked_stage_is_read_counted_and_shown(spec: StageSpec) -> None:
    seen = view(**executed_except(spec, shows_done=40, shows_failed=9, chunks_done=1))
    assert list(seen.chunks) == [s.stage for s in schema.CHUNKED]
    assert seen.chunks[spec.stage] == ChunkCounters(shows_done=40, shows_failed=9, chunks_done=1, chunks_failed=0)
    assert stage_percentages(seen)[spec.stage] == 49
    assert all(stage_percentages(seen)[s.stage] == 100 for s in schema.CHUNKED if s is not spec)
    assert session_document(seen)["stages"][spec.label] == {
        "percent": 49, "showsDone": 40, "showsFailed": 9, "chunksDone": 1, "chunksFailed": 0}


@pytest.mark.parametrize("spec", schema.CHUNKED, ids=CHUNKED_IDS)
def test_every_chunked_stage_must_execute_before_completed(spec: StageSpec) -> None:
    follow_ups_done = {**flags("requested_at"), **flags("sent_at"), **flags("done_at")}
    assert decide(view(**all_chunks_executed(), **follow_ups_done)).complete
    assert not decide(view(**executed_except(spec, shows_done=50, chunks_done=1), **follow_ups_done)).complete


@pytest.mark.parametrize("spec", schema.CHUNKED, ids=CHUNKED_IDS)
def test_every_chunked_stage_gates_the_threshold(spec: StageSpec) -> None:
    below = view(**executed_except(spec, shows_done=96, chunks_done=1))
    at = view(**executed_except(spec, shows_done=97, chunks_done=1))
    by_threshold = {s.stage for s in FOLLOW_UPS if s.trigger is Trigger.THRESHOLD}
    assert by_threshold and not by_threshold & decide(below).emit and by_threshold <= decide(at).emit
    assert (watchdog.thresholds_met(below), watchdog.thresholds_met(at)) == (False, True)


@dataclass
class CountingSessions:
    """Only what dead_letters calls for a chunked stage's message."""

    counted: list[tuple[str, Stage, int, int, int, bool]] = field(default_factory=list)

    def count_chunk(self, session_id: str, stage: Stage, chunk_id: int, *, shows_done: int, shows_failed: int,
                    dead_lettered: bool = False) -> bool:
        self.counted.append((session_id, stage, chunk_id, shows_done, shows_failed, dead_lettered))
        return True


@pytest.mark.parametrize("spec", schema.CHUNKED, ids=CHUNKED_IDS)
def test_every_chunked_stage_is_dead_letter_accounted_with_every_later_one(spec: StageSpec) -> None:
    sessions = CountingSessions()
    deps = dead_letters.DeadLetterDeps(sessions, {"arn:dlq": spec.stage})
    dead_letters.handle('{"session_id": "s1", "chunk_id": 4, "shows": []}', "arn:dlq", deps)
    later = [s.stage for s in schema.CHUNKED[schema.CHUNKED.index(spec):]]
    assert sessions.counted == [("s1", stage, 4, 0, 0, True) for stage in later]
