"""Every follow-up stage of the registry (tvreport.schema) is wired in the synthesized
template: a function of its folder fed by a queue with a DLQ, that DLQ among
dead_letters' sources under the stage's name, and its queue's URL and a send grant
given to the tracker (which sends it) and the watchdog (which re-sends it). Every
chunked stage counts its chunks, is fed by the stage before it (the first: by the
history split and the chunk waves) and has its DLQ among dead_letters' sources.

Expectations come from the registry (coverage): a stage added there and left
half-wired fails here. Who may send where is also checked against a literal table
in test_iam.py (the security oracle)."""

from __future__ import annotations

import pytest

from stacks.needs import FOLLOW_UP, NEEDS
from tests.infrastructure.template_queries import TemplateQueries
from tvreport.schema import CHUNKED, FOLLOW_UPS, STAGES, StageSpec

SENDERS = ("progress_tracker", "watchdog")


@pytest.mark.parametrize("spec", FOLLOW_UPS, ids=lambda spec: spec.stage.value)
def test_a_follow_up_stage_has_its_queue_dlq_and_dead_letter_source(queries: TemplateQueries, spec: StageSpec) -> None:
    queue = queries.queue_feeding(spec.folder)
    dlq = queries.dead_letter_queue_of(queue)
    sources = queries.joined_json(queries.environment("dead_letters")["DEAD_LETTER_SOURCES"])
    assert sources[f"<{dlq}.Arn>"] == spec.stage.value


@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("spec", FOLLOW_UPS, ids=lambda spec: spec.stage.value)
def test_the_tracker_and_the_watchdog_get_each_follow_up_queue(
    queries: TemplateQueries, spec: StageSpec, sender: str
) -> None:
    queue = queries.queue_feeding(spec.folder)
    assert queries.environment(sender)[spec.queue_url_key] == {"Ref": queue}
    assert queue in queries.granted_ids(sender, "sqs:SendMessage")


@pytest.mark.parametrize("spec", FOLLOW_UPS, ids=lambda spec: spec.stage.value)
def test_a_follow_up_stage_reads_the_report_and_sends_nowhere(spec: StageSpec) -> None:
    assert NEEDS[spec.folder].tables == FOLLOW_UP.tables
    assert NEEDS[spec.folder].sends_to == ()
    assert NEEDS[spec.folder].upstream == spec.upstream


def test_every_stage_and_function_has_one_needs_entry(queries: TemplateQueries) -> None:
    assert set(NEEDS) == set(queries.function_ids())
    assert {spec.folder for spec in STAGES.values()} <= set(NEEDS)


# -- chunked stages (tvreport.schema.CHUNKED) ----------------------------------------

COUNTS_A_CHUNK = {"UpdateItem", "PutItem", "ConditionCheckItem"}  # the counters, the ledger item, the state check


@pytest.mark.parametrize("spec", CHUNKED, ids=lambda spec: spec.stage.value)
def test_a_chunked_stage_counts_its_chunks_and_is_fed_by_the_stage_before(spec: StageSpec) -> None:
    assert set(NEEDS[spec.folder].tables["sessions"]) >= COUNTS_A_CHUNK
    assert spec.stage in NEEDS[spec.folder].sends_to  # a chunk's rest handed on near the deadline
    position = CHUNKED.index(spec)
    if position:
        assert spec.stage in NEEDS[CHUNKED[position - 1].folder].sends_to  # forwarded by the stage before
    else:  # the first: wave 0 from the history split, later waves from the tracker and the watchdog
        for sender in ("query_activities", *SENDERS):
            assert spec.stage in NEEDS[sender].sends_to


@pytest.mark.parametrize("spec", CHUNKED, ids=lambda spec: spec.stage.value)
def test_a_chunked_stage_is_dead_letter_counted(queries: TemplateQueries, spec: StageSpec) -> None:
    dlq = queries.dead_letter_queue_of(queries.queue_feeding(spec.folder))
    sources = queries.joined_json(queries.environment("dead_letters")["DEAD_LETTER_SOURCES"])
    assert sources[f"<{dlq}.Arn>"] == spec.stage.value
    assert set(NEEDS["dead_letters"].tables["sessions"]) >= COUNTS_A_CHUNK
