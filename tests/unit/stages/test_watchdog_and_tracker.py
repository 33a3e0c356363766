"""The tracker's and the watchdog's decisions over the fakes, where they send nothing:
which images the tracker reads, completion with the final statistics, a lost claim,
and the watchdog ending a quiet session (COMPLETED with what it has when the
thresholds are met, FAILED otherwise). What they send is covered under moto
(tests/integration/test_tracker.py, test_watchdog.py)."""
from __future__ import annotations

from datetime import timedelta

from tests.unit.stages.conftest import T0, World
from tvreport.records import CastMember
from tvreport.results import StageResult
from tvreport.schema import FOLLOW_UPS
from tvreport.session_model import META_SK, Stage, State
from tvreport.stages import chunk_waves, tracker, watchdog

STALL = timedelta(minutes=10)
FOLLOW_UP_STAGES = [spec.stage for spec in FOLLOW_UPS]


def deps(world: World) -> tracker.TrackerDeps:
    return tracker.TrackerDeps(world.sessions, world.viewing, world.cache,
                               {spec.stage: f"https://sqs.test/{spec.folder}" for spec in FOLLOW_UPS},
                               "https://sqs.test/show-data")


def both_ai_stages_sent(world: World, session_id: str) -> None:
    for stage in FOLLOW_UP_STAGES:  # every follow-up stage of the registry
        assert world.sessions.claim_trigger(session_id, stage)
        assert world.sessions.mark_trigger_sent(session_id, stage)


def a_finished_session(world: World) -> str:
    session_id = world.crunching(total_shows=1)
    world.cached(70523, "Dark", ["Drama", "Mystery"], [CastMember("Louis Hofmann", "Jonas Kahnwald", 26)], critics=95)
    world.watched(session_id, "dark", "Dark", 70523, episodes=8)
    world.count_both(session_id, 0, done=1)
    both_ai_stages_sent(world, session_id)
    for stage in FOLLOW_UP_STAGES:
        world.sessions.store_ai_result(session_id, stage, StageResult(available=True))
    return session_id


def test_the_tracker_reads_only_session_images(world: World) -> None:
    session_id = a_finished_session(world)
    ledger_image = world.sessions.ledger(session_id)[0]
    tracker.on_session_image(None, deps(world))
    tracker.on_session_image(ledger_image, deps(world))
    assert world.item()["state"] == State.CRUNCHING_DATA.value
    tracker.on_session_image({**world.item(), "sk": META_SK}, deps(world))
    assert world.item()["state"] == State.COMPLETED.value


def test_a_session_with_every_stage_done_completes_with_its_statistics_once(world: World) -> None:
    session_id = a_finished_session(world)
    view = world.sessions.get(session_id)
    assert view is not None
    decision = tracker.act(view, deps(world))
    assert decision.complete and not decision.emit and decision.wave is None
    item = world.item()
    assert item["state"] == State.COMPLETED.value and item["report_partial"] is False
    assert (item["statistics"]["showsWatched"], item["statistics"]["episodesWatched"]) == (1, 8)
    assert "active" not in item
    assert tracker.finalize(view, deps(world), partial=False) is False  # ended already: nothing changes
    assert world.item() == item


def test_a_claim_another_caller_holds_is_not_sent(world: World) -> None:
    session_id = world.crunching(total_shows=1)
    assert world.sessions.claim_trigger(session_id, Stage.TV_BFF)
    view = world.sessions.get(session_id)
    assert tracker.emit(view, Stage.TV_BFF, deps(world)) is False
    assert "tvbff_sent_at" not in str(world.item())


def test_the_backoff_doubles_to_a_cap() -> None:
    assert [tracker.backoff(n).total_seconds() / 60 for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_a_quiet_session_past_its_thresholds_is_completed_partial(world: World) -> None:
    session_id = world.crunching(total_shows=1)
    world.count_both(session_id, 0, done=1)
    both_ai_stages_sent(world, session_id)  # sent, never done
    outcome = watchdog.sweep(deps(world), STALL, now=T0 + STALL + timedelta(seconds=1))
    assert outcome == {"resent": 0, "acted": 0, "completed": 1, "failed": 0, "purged": 0, "errors": 0}
    assert world.item()["state"] == State.COMPLETED.value and world.item()["report_partial"] is True


def test_a_quiet_session_short_of_its_thresholds_fails_as_stalled(world: World) -> None:
    session_id = world.crunching(total_shows=2, chunks=2)
    world.count_both(session_id, 0, done=1)  # chunk 1 never arrives
    outcome = watchdog.sweep(deps(world), STALL, now=T0 + STALL + timedelta(seconds=1))
    assert outcome["failed"] == 1 and world.item()["failure_reason"] == "STALLED"


def test_a_session_with_recent_progress_is_left_alone(world: World) -> None:
    session_id = world.crunching(total_shows=2, chunks=2)
    world.now = T0 + STALL
    world.count_both(session_id, 0, done=1)  # progress just now
    before = world.item()
    outcome = watchdog.sweep(deps(world), STALL, now=T0 + STALL + timedelta(seconds=30))
    assert sum(outcome.values()) == 0 and world.item() == before


def test_a_wave_claimed_elsewhere_is_not_sent_again(world: World) -> None:
    session_id = world.crunching(total_shows=120, chunks=3)  # wave 0 claimed and sent
    view = world.sessions.get(session_id)
    assert view is not None
    assert chunk_waves.release(view, 0, deps(world).waves) is False  # wave 0 is claimed
    assert chunk_waves.resend(view, deps(world).waves) is False  # and nothing is unsent
    for key in ("a", "b", "c"):
        world.watched(session_id, key, key.upper(), None, episodes=1)
    plan = chunk_waves.chunk_messages(session_id, world.viewing.records(session_id, as_of=world.now.date()),
                                      chunk_size=1)
    # A redelivered split: wave 0 is claimed and sent, so nothing is sent (a send would
    # reach for SQS, which the unit tier has not got).
    chunk_waves.start(session_id, plan, wave_size=10, chunk_size=1, deps=deps(world).waves)
    assert world.item()["waves_sent"] == 1 and world.item()["waves_claimed"] == 1


def test_a_claimed_stage_is_resent_when_its_failure_said_else_after_the_claim(world: World) -> None:
    session_id = world.crunching(total_shows=1)
    world.sessions.claim_trigger(session_id, Stage.TV_BFF)
    claimed = world.sessions.get(session_id)
    assert claimed is not None
    assert watchdog.resend_due(claimed, Stage.TV_BFF, tracker.RESEND_AFTER) == T0 + tracker.RESEND_AFTER  # a crash between claim and send
    world.sessions.record_send_failure(session_id, Stage.TV_BFF, T0 + timedelta(minutes=7))
    failed = world.sessions.get(session_id)
    assert failed is not None and watchdog.resend_due(failed, Stage.TV_BFF, tracker.RESEND_AFTER) == T0 + timedelta(minutes=7)
    assert world.item()["tvbff_send_attempts"] == 1


def test_thresholds_need_the_history_and_both_chunk_stages(world: World) -> None:
    session_id = world.crunching()
    assert not watchdog.thresholds_met(world.sessions.get(session_id))  # not split yet
    world.sessions.set_totals(session_id, total_shows=100, total_chunks=2, movies=0, activities=100, rejected=0)
    world.sessions.count_chunk(session_id, Stage.QUERY_SHOW_DATA, 0, shows_done=97, shows_failed=0)
    assert not watchdog.thresholds_met(world.sessions.get(session_id))  # no crawl counted
    world.sessions.count_chunk(session_id, Stage.CRAWL_ROTTEN_TOMATOES, 0, shows_done=90, shows_failed=7)
    assert watchdog.thresholds_met(world.sessions.get(session_id))  # 97 % processed in both
