"""What the AI stages and the report compute from (report_inputs.load_inputs), and the
chunks a split and every wave rebuild (chunk_waves.chunk_messages), over the fakes."""
from __future__ import annotations

from tests.unit.stages.conftest import World
from tvreport.stages import chunk_waves
from tvreport.stages.report_inputs import load_inputs, session_day


def test_inputs_are_the_records_as_of_the_session_day_and_their_matched_shows(world: World) -> None:
    session_id = world.crunching()
    world.cached(70523, "Dark", ["Drama"])
    world.cached(999, "Not Watched", ["Comedy"])
    world.watched(session_id, "dark", "Dark", 70523, episodes=3)
    world.watched(session_id, "obscure", "Obscure", None, episodes=2)  # not on TMDB
    world.viewing.put_record(session_id, "old", title="Old", kind="show", plays={"2025-04-30|1|1"})  # over a year
    view = world.sessions.get(session_id)
    assert view is not None and session_day(view) == world.now.date()

    inputs = load_inputs(view, world.viewing, world.cache)

    assert sorted(r.show_key for r in inputs.records) == ["dark", "obscure", "old"]
    assert list(inputs.shows) == [70523]
    assert [r.episodes_last_year for r in inputs.records] == [3, 2, 0]
    assert inputs.statistics().episodes_watched == 6


def test_chunks_are_rebuilt_the_same_from_the_viewing_records(world: World) -> None:
    session_id = world.crunching()
    for key in ("c", "a", "b"):
        world.watched(session_id, key, key.upper(), None, episodes=1)
    world.viewing.put_record(session_id, "movie:heat", title="Heat", kind="movie", plays={"2024-06-01||Heat"})
    records = world.viewing.records(session_id, as_of=world.now.date())
    chunks = chunk_waves.chunk_messages(session_id, records, chunk_size=2)
    assert [[s.show_key for s in c.shows] for c in chunks] == [["a", "b"], ["c"]]  # series only, in key order
    assert [c.chunk_id for c in chunks] == [0, 1]
    assert chunk_waves.chunk_messages(session_id, list(reversed(records)), 2) == chunks
