"""The tracker on its stream (moto, the template's tables): a send that keeps failing
keeps its claim and does not fail the record; chunk waves are released as chunks are
counted, each exactly once however often the records come."""
from __future__ import annotations

import boto3
import pytest

from tests.integration.conftest import REGION
from tests.integration.test_exactly_once import stream_event
from tests.support.handlers import FakeContext, load_handler
from tests.support.iam_calls import granted_only
from tests.support.queues import drain, follow_up_environment
from tvreport import env_keys
from tvreport.messages import ActivitiesRequest
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import Stage, State
from tvreport.stages import query_activities
from tvreport.stages.query_activities import ActivitiesDeps


def export(shows: int) -> bytes:
    rows = ["Title,Date"] + [f'"Show {n:04d}: Season 1: Pilot","03/0{1 + n % 9}/2023"' for n in range(shows)]
    return "\n".join(rows).encode()


@pytest.fixture
def queues():
    sqs = boto3.client("sqs", region_name=REGION)
    return {name: sqs.create_queue(QueueName=name)["QueueUrl"]
            for name in ("activities", "showdata", "tvbff", "starsign")}


@pytest.fixture
def tracker(moto_tables, function_env, queues, cdk_template):
    function_env({**follow_up_environment({Stage.TV_BFF: queues["tvbff"], Stage.STAR_SIGN: queues["starsign"]}),
                  env_keys.QUERY_SHOW_DATA_QUEUE_URL: queues["showdata"]})
    handler = granted_only("progress_tracker", load_handler("progress_tracker").handler, cdk_template, moto_tables)

    def replay() -> dict:
        """Every record of the stream so far (old ones again: duplicates, as AWS may)."""
        return handler(stream_event(moto_tables["sessions"]), FakeContext())

    return replay


def test_a_send_that_keeps_failing_keeps_its_claim_and_does_not_fail_the_record(moto_tables, tracker, queues):
    repo = SessionRepository(moto_tables["sessions"], ttl_days=1)
    repo.create("s-1", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    repo.set_totals("s-1", total_shows=50, total_chunks=1, movies=0, activities=0, rejected=0)
    repo.count_chunk("s-1", Stage.QUERY_SHOW_DATA, 0, shows_done=50, shows_failed=0)
    boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=queues["tvbff"])

    for _ in range(3):  # the failure's own records come back, and old ones again
        assert tracker() == {"batchItemFailures": []}  # no poison record, no blocked shard
    view = repo.get("s-1")
    assert Stage.TV_BFF in view.requested and Stage.TV_BFF not in view.sent
    tvbff = view.triggers[Stage.TV_BFF]
    assert tvbff.send_attempts == 1  # claimed and tried once: no claim/release loop
    assert tvbff.next_send_at > tvbff.requested_at  # the watchdog's turn
    assert view.progress_at < view.updated_at  # bookkeeping is not progress


def test_chunks_are_released_in_waves_as_they_are_counted_each_once(moto_tables, tracker, queues):
    sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)
    deps = ActivitiesDeps(sessions, ViewingRepository(moto_tables["viewing"], ttl_days=1), queues["activities"],
                          queues["showdata"], chunk_size=4, gandalf=lambda: None, read_upload=lambda key: export(90),
                          wave_size=3)
    sessions.create("big", source="netflix_csv", state=State.CRUNCHING_DATA, threshold_percent=97)
    query_activities.handle(ActivitiesRequest(session_id="big", source="netflix_csv", upload_key="k"),
                            lambda: 900_000, deps)
    assert sessions.get("big").total_chunks == 23  # 90 shows in chunks of 4

    released: list[int] = [c["chunk_id"] for c in drain(queues["showdata"])]
    assert released == [0, 1, 2]  # wave 0 from the split
    executed, peak = 0, 0
    while executed < 23:
        for _ in range(2):  # every record twice
            assert tracker() == {"batchItemFailures": []}
        released += [c["chunk_id"] for c in drain(queues["showdata"])]
        peak = max(peak, len(released) - executed)
        chunk = released[executed]  # the stages work the oldest released chunk
        for stage in (Stage.QUERY_SHOW_DATA, Stage.CRAWL_ROTTEN_TOMATOES):
            sessions.count_chunk("big", stage, chunk, shows_done=4, shows_failed=0)
        executed += 1
    assert sorted(released) == list(range(23)) and len(released) == 23  # each chunk once
    assert peak == 6  # two waves of 3 in flight at most
    tracker()
    assert drain(queues["showdata"]) == []
