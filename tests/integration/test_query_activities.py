"""queryActivities against the Gandalf sandbox over loopback HTTP, on moto: paging,
hand-off when time runs low, and sessions that cannot succeed failing at once."""
from __future__ import annotations

import math
from datetime import date

import boto3
import pytest

from local.sandbox import generate_gandalf_key
from tests.integration.conftest import REGION
from tests.support.queues import drain
from tests.support.stored import stored_session
from tvreport.clients.gandalf import GandalfClient
from tvreport.messages import ActivitiesRequest
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.session_model import State
from tvreport.stages import query_activities
from tvreport.stages.query_activities import ActivitiesDeps


@pytest.fixture
def env(moto_tables, sandbox):
    sqs = boto3.client("sqs", region_name=REGION)
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("activities", "show-data")}
    sessions = SessionRepository(moto_tables["sessions"], ttl_days=1)

    def deps(private_key_hex: str | None = None) -> ActivitiesDeps:
        client = GandalfClient(sandbox.gandalf_url, private_key_hex or sandbox.gandalf_private_key_hex)
        return ActivitiesDeps(sessions, ViewingRepository(moto_tables["viewing"], ttl_days=1), queues["activities"],
                              queues["show-data"], chunk_size=50, gandalf=lambda: client, read_upload=lambda key: b"")

    return sessions, queues, deps


def start(sessions: SessionRepository, session_id: str) -> None:
    sessions.create(session_id, source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)


def test_a_history_is_handed_over_when_time_runs_low(env, sandbox):
    sessions, queues, deps = env
    start(sessions, "handoff")
    request = ActivitiesRequest(session_id="handoff", source="gandalf", data_key="typical")
    query_activities.handle(request, lambda: 1_000, deps())  # 1 s left: one page, then hand over
    handoff = drain(queues["activities"])
    assert [m["next_page"] for m in handoff] == [2] and handoff[0]["data_key"] == "typical"
    assert handoff[0]["date_format"] is None  # decided once, over the whole history, at the end
    view = sessions.get("handoff")
    pages = math.ceil(len(sandbox.gandalf._viewers["typical"]) / 300)
    assert (view.activity_pages_done, view.activity_pages_total, view.total_chunks) == (1, pages, None)
    assert drain(queues["show-data"]) == []

    query_activities.handle(ActivitiesRequest.model_validate(handoff[0]), lambda: 900_000, deps())
    view = sessions.get("handoff")
    chunks = drain(queues["show-data"])
    assert view.total_chunks == len(chunks) == 2 and view.total_shows == 80
    assert sum(len(c["shows"]) for c in chunks) == 80
    assert view.activities == len(sandbox.gandalf._viewers["typical"])

    # the same in one go gives the same totals; a redelivered last part changes nothing
    start(sessions, "one-go")
    one_go = ActivitiesRequest(session_id="one-go", source="gandalf", data_key="typical")
    for _ in range(2):
        query_activities.handle(one_go, lambda: 900_000, deps())
    again = sessions.get("one-go")
    assert (again.total_shows, again.total_chunks, again.activities) == (80, 2, view.activities)


@pytest.mark.parametrize("data_key, signing_key, reason", [
    pytest.param("no-such-key", None, "RECORD_NOT_FOUND", id="unknown-key"),
    # A fresh key each run: the id is spelled out so every xdist worker collects the same test.
    pytest.param("typical", generate_gandalf_key()[0], "INVALID_SIGNATURE", id="wrong-signing-key"),
])
def test_a_history_that_cannot_be_read_fails_the_session_at_once(env, sandbox, data_key, signing_key, reason):
    sessions, queues, deps = env
    start(sessions, "doomed")
    before = sum(sandbox.stats()["gandalf"]["requests"].values())
    request = ActivitiesRequest(session_id="doomed", source="gandalf", data_key=data_key)
    query_activities.handle(request, lambda: 900_000, deps(signing_key))
    view = sessions.get("doomed")
    assert (view.state, view.failure_reason) == (State.FAILED, reason)
    assert sum(sandbox.stats()["gandalf"]["requests"].values()) - before == 1  # no retry storm
    assert drain(queues["activities"]) == drain(queues["show-data"]) == []


def test_an_empty_history_is_split_into_nothing(env, sandbox):
    sessions, queues, deps = env
    sandbox.register_viewer("nothing-watched", [])
    start(sessions, "empty")
    query_activities.handle(ActivitiesRequest(session_id="empty", source="gandalf", data_key="nothing-watched"),
                            lambda: 900_000, deps())
    view = sessions.get("empty")
    assert (view.state, view.total_shows, view.total_chunks) == (State.CRUNCHING_DATA, 0, 0)
    assert drain(queues["show-data"]) == []  # the tracker then emits both AI stages at once


def _activity(n: int, title: str, raw_date: str) -> dict:
    return {"__typename": "Activity", "id": f"a{n}", "metadata": {
        "__typename": "NetflixActivityMetadata", "title": title, "date": raw_date, "subject": []}}


def split_sensitive_history() -> list[dict]:
    """A history whose decisions need its last page: page 1 (300 rows) has only
    ambiguous dates (day and month both <= 12) and one 'Tiger King: ...' title; page 2
    proves the dates month-first (12/25/2020) and makes Tiger King a series (a second
    subtitle). Decided per part, page 1 reads day-first and Tiger King as a film."""
    rows = [_activity(n, f"Dark: Season 1: Episode {n}", f"0{1 + n % 9}/0{1 + n % 8}/2020") for n in range(299)]
    rows.append(_activity(299, "Tiger King: Murder, Mayhem and Madness", "03/04/2020"))
    rows += [_activity(300 + n, f"Ozark: Season 1: Episode {n}", f"12/{13 + n % 15}/2020") for n in range(40)]
    rows.append(_activity(400, "Tiger King: The Tiger King and I", "12/30/2020"))
    return rows


def _decisions(sessions: SessionRepository, viewing: ViewingRepository, session_id: str) -> tuple:
    view = sessions.get(session_id)
    kinds = sorted((r.show_key, r.kind, r.plays) for r in viewing.records(session_id, as_of=date.today()))
    return (view.total_shows, view.total_chunks, view.activities, view.rejected_rows,
            view.movies, stored_session(sessions, session_id)["date_format"], kinds)


def test_a_forced_hand_off_decides_exactly_as_one_go(env, sandbox, moto_tables):
    sessions, queues, deps = env
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    sandbox.register_viewer("split-sensitive", split_sensitive_history())
    for session_id, first_budget_ms in (("one-go", 900_000), ("handed-off", 1_000)):
        start(sessions, session_id)
        request = ActivitiesRequest(session_id=session_id, source="gandalf", data_key="split-sensitive")
        query_activities.handle(request, lambda: first_budget_ms, deps())
        for handoff in drain(queues["activities"]):
            query_activities.handle(ActivitiesRequest.model_validate(handoff), lambda: 900_000, deps())
        drain(queues["show-data"])
    one_go, handed_off = _decisions(sessions, viewing, "one-go"), _decisions(sessions, viewing, "handed-off")
    assert handed_off == one_go
    assert one_go[3] == 0 and one_go[5] == "%m/%d/%Y"  # no row rejected: month-first, from page 2
    assert ("tiger king", "show", 2) in one_go[6]  # a series, decided by page 2


def test_pages_are_stored_as_they_arrive_and_a_redelivered_part_resumes(env, sandbox, moto_tables):
    sessions, queues, deps = env
    viewing = ViewingRepository(moto_tables["viewing"], ttl_days=1)
    start(sessions, "resume")
    pages = math.ceil(len(sandbox.gandalf._viewers["typical"]) / 300)
    request = ActivitiesRequest(session_id="resume", source="gandalf", data_key="typical")
    query_activities.handle(request, lambda: 1_000, deps())  # one page, then hand over
    assert viewing.raw_page_numbers("resume") == {1}
    handoff = ActivitiesRequest.model_validate(drain(queues["activities"])[0])
    before = sum(sandbox.stats()["gandalf"]["requests"].values())
    for _ in range(2):  # the last part delivered twice: the second fetches only its first page again
        query_activities.handle(handoff, lambda: 900_000, deps())
    assert viewing.raw_page_numbers("resume") == set(range(1, pages + 1))
    assert sum(sandbox.stats()["gandalf"]["requests"].values()) - before == (pages - 1) + 1
    view = sessions.get("resume")
    assert view.total_shows == 80
    # DELETE reaches the raw pages too: every record and every page
    assert viewing.delete_session("resume") == view.total_shows + view.movies + pages
    assert viewing.records("resume", as_of=date.today()) == [] and viewing.raw_page_numbers("resume") == set()
