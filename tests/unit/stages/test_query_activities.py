"""queryActivities (query_activities.handle) over the fakes, on the paths that end
before a chunk is sent: a history or export that fails the session with its reason,
and one over the per-session show cap. Gandalf is the real client on MockTransport;
what a full split sends is covered in tests/integration/test_query_activities.py."""
from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.unit.clients.support import GANDALF_ENDPOINT, GANDALF_PRIVATE_KEY_HEX, graphql_error
from tests.unit.stages.conftest import World
from tvreport.clients.gandalf import GandalfClient
from tvreport.messages import ActivitiesRequest
from tvreport.session_model import State
from tvreport.stages import query_activities

EXPORT = b'Title,Date\n"Dark: Season 1: Secrets","1/2/26"\n"Dark: Season 1: Lies","1/1/26"\n"Heat","6/1/24"\n'


def deps(world: World, gandalf: Callable[[httpx.Request], httpx.Response] | None = None,
         uploads: dict[str, bytes] | None = None, max_shows: int = 10_000) -> query_activities.ActivitiesDeps:
    def client() -> GandalfClient:
        assert gandalf is not None, "Gandalf was called"
        return GandalfClient(GANDALF_ENDPOINT, GANDALF_PRIVATE_KEY_HEX,
                             http=httpx.Client(transport=httpx.MockTransport(gandalf)))

    return query_activities.ActivitiesDeps(world.sessions, world.viewing, "https://sqs.test/a", "https://sqs.test/s",
                                           chunk_size=50, gandalf=client, read_upload=(uploads or {}).__getitem__,
                                           max_shows=max_shows)


def page(*titles: str, total: int | None = None) -> httpx.Response:
    data = [{"metadata": {"title": t, "date": "02/01/2026", "subject": []}} for t in titles]
    return httpx.Response(200, json={"data": {"getActivity": {"data": data, "limit": 300, "page": 1,
                                                              "total": total or len(titles)}}})


def never() -> int:
    """An invocation's remaining time that never runs low."""
    return 10**9


def failure(world: World) -> tuple[str, str]:
    item = world.item()
    assert item["state"] == State.FAILED.value
    return item["failure_reason"], item["failure_detail"]


def test_a_gandalf_refusal_fails_the_session_with_its_code(world: World) -> None:
    session_id = world.crunching()
    request = ActivitiesRequest(session_id=session_id, source="gandalf", data_key="k" * 16)
    query_activities.handle(request, never, deps(world, gandalf=lambda _: graphql_error("RECORD_NOT_FOUND")))
    assert failure(world)[0] == "RECORD_NOT_FOUND"
    assert world.viewing.stored == {}


def test_a_history_over_the_show_cap_fails_after_storing_its_records(world: World) -> None:
    session_id = world.crunching()
    request = ActivitiesRequest(session_id=session_id, source="gandalf", data_key="k" * 16)
    history = page("Dark: Season 1: Secrets", "Lupin: Part 1: Chapter 1", "Heat")
    query_activities.handle(request, never, deps(world, gandalf=lambda _: history, max_shows=1))
    assert failure(world) == ("TOO_MANY_SHOWS", "2 distinct shows; a session may have at most 1")
    records = world.viewing.records(session_id, as_of=world.now.date())
    assert sorted(r.show_key for r in records) == ["dark", "lupin", "movie:heat"]
    assert world.viewing.raw_page_numbers(session_id) == {1}
    assert world.item()["activity_pages_done"] == 1 and world.item()["date_format"] == "%d/%m/%Y"
    assert "total_chunks" not in world.item()  # never split: nothing was sent


def test_an_export_over_the_cap_is_read_whole_first(world: World) -> None:
    session_id = world.crunching()
    request = ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key="uploads/x.csv")
    query_activities.handle(request, never, deps(world, uploads={"uploads/x.csv": EXPORT}, max_shows=0))
    assert failure(world)[0] == "TOO_MANY_SHOWS"
    dark = next(r for r in world.viewing.records(session_id, as_of=world.now.date()) if r.show_key == "dark")
    assert (dark.episodes, dark.first_played.isoformat()) == (2, "2026-01-01")


def test_requests_that_cannot_succeed_fail_with_a_reason(world: World) -> None:
    cases = {
        "no data key": (ActivitiesRequest(session_id="a", source="gandalf"), "INVALID_REQUEST"),
        "no upload": (ActivitiesRequest(session_id="b", source="netflix_csv"), "INVALID_REQUEST"),
        "not an export": (ActivitiesRequest(session_id="c", source="netflix_csv", upload_key="bad"), "INVALID_EXPORT"),
    }
    for request, _ in cases.values():
        world.crunching(request.session_id)
        query_activities.handle(request, never, deps(world, uploads={"bad": b"\x00\x01 not a csv"}))
    assert {name: world.sessions.get_item(r.session_id)["failure_reason"]
            for name, (r, _) in cases.items()} == {name: reason for name, (_, reason) in cases.items()}


def test_a_request_for_an_ended_session_reads_nothing(world: World) -> None:
    session_id = world.crunching()
    world.sessions.cancel(session_id)
    request = ActivitiesRequest(session_id=session_id, source="netflix_csv", upload_key="missing")
    query_activities.handle(request, never, deps(world))  # read_upload would raise KeyError
    assert world.viewing.stored == {} and world.item()["failure_reason"] == "CANCELLED"
