"""OpenAI picks through the real SDK over a mock transport, and the rule fallback."""
from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from tests.unit.clients.support import ScriptedTransport, metric_count
from tvreport.ai_rules import (
    PERSONALITIES,
    QUIP_MAX_CHARS,
    STAR_SIGNS,
    clip_quip,
    rule_bff,
    rule_personality,
    rule_star_sign,
    rule_star_sign_pick,
)
from tvreport.clients.ai import BffPick, StarSignPick, TvPersonalityAI
from tvreport.records import CastMember

LUPIN_CAST = [
    CastMember("Omar Sy", "Assane Diop", 10),
    CastMember("Ludivine Sagnier", "Claire", 10),
    CastMember("Etan Simon", "Raoul", 9),
]
GENRES = [("Crime", 41.5), ("Drama", 30.0), ("Mystery", 12.0)]
GOOD_STAR_SIGN = {
    "star_sign": "Scorpio",
    "personality": "Crime Connoisseur",
    "star_sign_quip": "Intense, secretive, always ten steps ahead.",
    "personality_quip": "You solved it before the detective did.",
    "genres_quip": "Crime at 42%: suspicious.",
    "score_quip": "Critics nod along with you.",
}


def completion(content: dict | str | None = None, refusal: str | None = None) -> httpx.Response:
    body = content if isinstance(content, str) or content is None else json.dumps(content)
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": body, "refusal": refusal},
                }
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
        },
    )


def ai_with(transport: ScriptedTransport, api_key: str | None = "sk-test") -> TvPersonalityAI:
    return TvPersonalityAI(api_key, base_url="https://openai.test/v1", http_client=httpx.Client(transport=transport))


# ---- BFF ---------------------------------------------------------------------


def test_valid_structured_bff_answer_is_used():
    transport = ScriptedTransport(completion({"character": "Claire", "quip": "She would forgive your heists."}))
    pick = ai_with(transport).pick_bff("Lupin", LUPIN_CAST, GENRES)
    assert pick == BffPick(character="Claire", actor="Ludivine Sagnier", quip="She would forgive your heists.", source="openai")
    assert transport.calls == 1
    request = transport.requests[0]
    assert request.url.path == "/v1/chat/completions"
    sent = json.loads(request.content)
    assert sent["model"] == "gpt-4o-mini"
    response_format = sent["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["properties"]["character"]["enum"] == ["Assane Diop", "Claire", "Raoul"]
    assert schema["required"] == ["character", "quip"] and schema["additionalProperties"] is False
    assert metric_count("AiPromptTokens") == 120 and metric_count("AiCompletionTokens") == 30


def test_refusal_then_valid_answer_uses_openai_after_two_calls():
    transport = ScriptedTransport(
        completion(None, refusal="I can't help with that."),
        completion({"character": "Raoul", "quip": "Like father, like viewer."}),
    )
    pick = ai_with(transport).pick_bff("Lupin", LUPIN_CAST, GENRES)
    assert (pick.source, pick.character, pick.actor) == ("openai", "Raoul", "Etan Simon")
    assert transport.calls == 2


def test_invalid_answers_twice_fall_back_to_rules_after_two_calls():
    transport = ScriptedTransport(
        completion({"character": "Arsène Lupin", "quip": "Not a listed character."}),
        completion({"character": "Claire", "quip": "x" * (QUIP_MAX_CHARS + 1)}),
        completion({"character": "Claire", "quip": "never asked for"}),
    )
    pick = ai_with(transport).pick_bff("Lupin", LUPIN_CAST, GENRES)
    assert pick == rule_bff("Lupin", LUPIN_CAST, GENRES)
    assert pick.source == "rules" and transport.calls == 2
    assert metric_count("AiRuleFallbacks") == 1


def test_malformed_json_then_api_error_falls_back_to_rules():
    transport = ScriptedTransport(completion("{not json"), httpx.Response(500, json={"error": {"message": "boom"}}))
    assert ai_with(transport).pick_bff("Lupin", LUPIN_CAST, GENRES).source == "rules"
    assert transport.calls == 2  # the SDK's own retries are off: ours are the only ones


def test_no_key_uses_rules_without_any_call():
    transport = ScriptedTransport(completion({"character": "Claire", "quip": "unused"}))
    for key in (None, ""):
        ai = ai_with(transport, api_key=key)
        assert ai.pick_bff("Lupin", LUPIN_CAST, GENRES).source == "rules"
        assert ai.pick_star_sign(GENRES, 88.0, ["Lupin"]).source == "rules"
    assert transport.calls == 0


def test_without_character_names_the_actors_are_the_choices():
    transport = ScriptedTransport(completion({"character": "Omar Sy", "quip": "Gentleman, thief, best friend."}))
    pick = ai_with(transport).pick_bff("Lupin", [CastMember("Omar Sy", ""), CastMember("Ludivine Sagnier", " ")], GENRES)
    assert (pick.character, pick.actor, pick.source) == ("Omar Sy", "Omar Sy", "openai")
    schema = json.loads(transport.requests[0].content)["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["character"]["enum"] == ["Omar Sy", "Ludivine Sagnier"]


def test_no_cast_at_all_is_a_caller_error_and_costs_no_call():
    transport = ScriptedTransport(completion({"character": "x", "quip": "y"}))
    with pytest.raises(ValueError):
        ai_with(transport).pick_bff("Show", [], GENRES)
    assert transport.calls == 0


# ---- star sign ---------------------------------------------------------------


def test_valid_star_sign_answer_is_used_with_enums_in_the_schema():
    transport = ScriptedTransport(completion(GOOD_STAR_SIGN))
    pick = ai_with(transport).pick_star_sign(GENRES, 84.5, ["Lupin", "Dark"])
    assert pick == StarSignPick(**GOOD_STAR_SIGN, source="openai")
    schema = json.loads(transport.requests[0].content)["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["star_sign"]["enum"] == list(STAR_SIGNS) and len(STAR_SIGNS) == 12
    assert schema["properties"]["personality"]["enum"] == list(PERSONALITIES) and len(PERSONALITIES) == 10
    assert set(schema["required"]) == set(GOOD_STAR_SIGN)


def test_star_sign_outside_the_enums_twice_falls_back_to_rules():
    transport = ScriptedTransport(
        completion({**GOOD_STAR_SIGN, "personality": "Couch Potato"}),
        completion({**GOOD_STAR_SIGN, "star_sign": "Ophiuchus"}),
    )
    pick = ai_with(transport).pick_star_sign(GENRES, 84.5, ["Lupin"])
    assert pick == rule_star_sign_pick(GENRES, 84.5, ["Lupin"]) and transport.calls == 2


def test_star_sign_missing_field_then_valid():
    partial = {k: v for k, v in GOOD_STAR_SIGN.items() if k != "score_quip"}
    transport = ScriptedTransport(completion(partial), completion(GOOD_STAR_SIGN))
    assert ai_with(transport).pick_star_sign(GENRES, None, []).source == "openai"
    assert transport.calls == 2


# ---- rules -------------------------------------------------------------------


def test_rule_bff_is_the_character_seen_most_with_billing_breaking_ties():
    pick = rule_bff("Lupin", LUPIN_CAST, GENRES)
    assert (pick.character, pick.actor, pick.source) == ("Assane Diop", "Omar Sy", "rules")
    more = [CastMember("Etan Simon", "Raoul", 3), CastMember("Omar Sy", "Assane Diop", 12)]
    assert rule_bff("Lupin", more, GENRES).character == "Assane Diop"


@pytest.mark.parametrize(
    ("genres", "personality"),
    [
        ([("Comedy", 50.0)], "Sitcom Sage"),
        ([("Documentary", 50.0)], "Documentary Detective"),
        ([("Reality", 50.0)], "Reality Royalty"),
        ([("Crime", 50.0)], "Crime Connoisseur"),
        ([("Sci-Fi & Fantasy", 50.0)], "Escape Artist"),
        ([("Action & Adventure", 50.0)], "The Adventurer"),
        ([("Romance", 50.0)], "The Hopeless Romantic"),
        ([("Animation", 50.0)], "The Daydreamer"),
        ([("Drama", 50.0)], "The Philosopher"),
        ([("Talk", 50.0)], "The Party Starter"),
        ([("Unknown Genre", 60.0), ("Comedy", 40.0)], "Sitcom Sage"),
        ([], "The Daydreamer"),
    ],
)
def test_rule_personality_from_the_first_known_top_genre(genres, personality):
    assert rule_personality(genres) == personality


def test_rule_star_sign_by_score_band():
    assert [rule_star_sign("Crime Connoisseur", s) for s in (45.0, 70.0, 92.0, None)] == ["Taurus", "Capricorn", "Virgo", "Capricorn"]
    assert rule_star_sign("The Adventurer", 59.9) == "Aries" and rule_star_sign("The Adventurer", 60.0) == "Sagittarius"


def test_clip_quip_cuts_on_a_word_and_keeps_one_line():
    text = "word " * 60
    clipped = clip_quip(text)
    assert len(clipped) <= QUIP_MAX_CHARS and clipped.endswith("…") and "  " not in clipped
    assert clip_quip("two\nlines") == "two lines"


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(
    show=names,
    cast=st.lists(st.builds(CastMember, name=names, character=names, episodes=st.integers(0, 500)), min_size=1, max_size=8),
    genres=st.lists(st.tuples(names, st.floats(0, 100)), max_size=5),
    score=st.one_of(st.none(), st.floats(0, 100)),
    shows=st.lists(names, max_size=5),
)
def test_rules_are_deterministic_valid_and_short(show, cast, genres, score, shows):
    bff = rule_bff(show, cast, genres)
    assert bff == rule_bff(show, cast, genres)
    allowed = {c.character.strip() for c in cast} | {c.name.strip() for c in cast}
    assert bff.character in allowed and bff.actor in {c.name for c in cast} and len(bff.quip) <= QUIP_MAX_CHARS
    pick = rule_star_sign_pick(genres, score, shows)
    assert pick == rule_star_sign_pick(genres, score, shows)
    assert pick.star_sign in STAR_SIGNS and pick.personality in PERSONALITIES
    for quip in (pick.star_sign_quip, pick.personality_quip, pick.genres_quip, pick.score_quip):
        assert 0 < len(quip) <= QUIP_MAX_CHARS and "\n" not in quip


def test_a_refused_openai_key_falls_back_to_rules_with_a_metric_and_no_second_call():
    refused = httpx.Response(401, json={"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                                  "code": "invalid_api_key"}})
    transport = ScriptedTransport(refused)
    pick = ai_with(transport).pick_bff("Lupin", LUPIN_CAST, GENRES)
    assert pick == rule_bff("Lupin", LUPIN_CAST, GENRES) and pick.source == "rules"
    assert transport.calls == 1
    assert metric_count("UpstreamAuthFailed_openai") == 1 and metric_count("AiRuleFallbacks") == 1
