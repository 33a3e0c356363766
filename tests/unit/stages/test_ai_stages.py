"""tvBFF and starSignPicker (ai_stages.handle) over the fakes, with the rules (no
OpenAI key): the pick is stored once, a second message changes nothing, a session
that ended or is gone gets no result."""
from __future__ import annotations

from tests.unit.stages.conftest import World
from tvreport.ai_rules import STAR_SIGNS
from tvreport.clients.ai import TvPersonalityAI
from tvreport.messages import AiStageRequest
from tvreport.records import CachedShow, CastMember
from tvreport.results import BffResult, StarSignResult
from tvreport.session_model import Stage, result_attribute
from tvreport.stages import ai_stages

CAST = [CastMember("Louis Hofmann", "Jonas Kahnwald", 26), CastMember("Lisa Vicari", "Martha Nielsen", 20)]


def deps(world: World) -> ai_stages.AiDeps:
    return ai_stages.AiDeps(world.sessions, world.viewing, world.cache, lambda: TvPersonalityAI(None))


def a_viewer(world: World) -> str:
    session_id = world.crunching(total_shows=2)
    world.cached(70523, "Dark", ["Drama", "Mystery"], CAST, critics=95)
    world.cached(1396, "Breaking Bad", ["Crime", "Drama"], [], critics=96)  # more watched, but no cast
    world.watched(session_id, "dark", "Dark", 70523, episodes=8)
    world.watched(session_id, "breaking bad", "Breaking Bad", 1396, episodes=12)
    return session_id


def test_the_bff_is_a_character_of_the_most_watched_show_with_cast_stored_once(world: World) -> None:
    session_id = a_viewer(world)
    request = AiStageRequest(session_id=session_id, stage=Stage.TV_BFF.value)

    ai_stages.handle(request, deps(world))

    result = world.item()[result_attribute(Stage.TV_BFF)]  # stored by field name
    assert result == {"available": True, "show": "Dark", "tmdb_id": 70523, "character": "Jonas Kahnwald",
                      "actor": "Louis Hofmann", "quip": result["quip"], "source": "rules"}
    read = world.sessions.get(session_id).results[Stage.TV_BFF]
    assert isinstance(read, BffResult) and read.character == "Jonas Kahnwald"
    assert list(read.api()) == ["available", "show", "tmdbId", "character", "actor", "quip", "source"]
    assert Stage.TV_BFF in world.sessions.get(session_id).done
    stored = world.item()
    world.cache.put_show(CachedShow(tmdb_id=70523, name="Dark", cast=CAST[1:]))  # would pick Martha
    ai_stages.handle(request, deps(world))  # the redelivery
    assert world.item() == stored


def test_without_a_show_with_cast_the_bff_is_unavailable(world: World) -> None:
    session_id = world.crunching(total_shows=1)
    world.cached(1396, "Breaking Bad", ["Crime"], [])
    world.watched(session_id, "breaking bad", "Breaking Bad", 1396, episodes=3)
    ai_stages.handle(AiStageRequest(session_id=session_id, stage="tv_bff"), deps(world))
    assert world.item()[result_attribute(Stage.TV_BFF)] == {"available": False, "reason": "NO_SHOW_WITH_CAST"}


def test_the_star_sign_is_picked_from_genres_and_scores(world: World) -> None:
    session_id = a_viewer(world)
    ai_stages.handle(AiStageRequest(session_id=session_id, stage="star_sign"), deps(world))
    result = world.item()[result_attribute(Stage.STAR_SIGN)]
    assert result["available"] is True and result["source"] == "rules"
    assert {"star_sign", "personality", "star_sign_quip"} <= result.keys()
    read = world.sessions.get(session_id).results[Stage.STAR_SIGN]
    assert isinstance(read, StarSignResult) and read.star_sign in STAR_SIGNS
    assert list(read.api()) == ["available", "starSign", "personality", "starSignQuip", "personalityQuip",
                                "genresQuip", "scoreQuip", "source"]
    assert Stage.STAR_SIGN in world.sessions.get(session_id).done
    assert Stage.TV_BFF not in world.sessions.get(session_id).done


def test_an_ended_or_missing_session_gets_no_result(world: World) -> None:
    session_id = a_viewer(world)
    world.sessions.fail(session_id, "STALLED")
    ended = world.item()
    ai_stages.handle(AiStageRequest(session_id=session_id, stage="tv_bff"), deps(world))
    ai_stages.handle(AiStageRequest(session_id="never-created", stage="star_sign"), deps(world))
    assert world.item() == ended and world.sessions.get_item("never-created") is None
