"""The second pass of DELETE (purge.sweep_deleted) over the fakes: a tombstone older
than the purge delay loses its stragglers, its ledger, its token and itself; a newer
one and every live session are left alone."""
from __future__ import annotations

from datetime import timedelta

from tests.unit.stages.conftest import T0, World
from tvreport.session_model import Stage, State
from tvreport.stages import purge


def test_an_old_tombstone_is_purged_whole_and_a_recent_one_waits(world: World) -> None:
    world.sessions.create("old", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97,
                          client_token="tok", request_digest="d")
    world.sessions.count_chunk("old", Stage.QUERY_SHOW_DATA, 0, shows_done=1, shows_failed=0)
    world.sessions.tombstone("old", client_token="tok")
    world.watched("old", "dark", "Dark", None, episodes=2)  # a straggler written after the DELETE
    world.now = T0 + timedelta(minutes=5)
    world.sessions.create("recent", source="gandalf", state=State.CRUNCHING_DATA, threshold_percent=97)
    world.sessions.tombstone("recent")
    live = world.crunching("live")
    world.watched(live, "dark", "Dark", None, episodes=1)

    purged = purge.sweep_deleted(world.sessions, world.viewing, now=T0 + purge.PURGE_AFTER + timedelta(seconds=1))

    assert purged == 1
    assert world.sessions.get_item("old") is None and world.viewing.records("old", as_of=T0.date()) == []
    assert world.sessions.token_session("tok", "d") is None and world.sessions.ledger("old") == []
    assert world.sessions.get_item("recent")["state"] == "DELETED"
    assert len(world.viewing.records(live, as_of=T0.date())) == 1 and world.sessions.get(live) is not None


def test_purge_session_keeps_the_tombstone_unless_told(world: World) -> None:
    world.crunching("s-1")
    world.watched("s-1", "dark", "Dark", None, episodes=2)
    world.viewing.put_raw_page("s-1", 1, [("Dark: Season 1: Lies", "01/01/2026", None)])
    world.sessions.tombstone("s-1")
    first = purge.purge_session("s-1", world.sessions, world.viewing, remove_tombstone=False)
    assert first == purge.Purged(viewing_records=2, session_items=0)
    assert world.sessions.get_item("s-1")["state"] == "DELETED"
    assert purge.purge_session("s-1", world.sessions, world.viewing, remove_tombstone=True).session_items == 1
    assert world.sessions.stored == {} and world.viewing.stored == {}
