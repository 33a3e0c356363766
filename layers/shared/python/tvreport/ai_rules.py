"""Deterministic picks for the AI stages: used when there is no OpenAI key or the
model's answer is unusable. Pure functions: the same inputs give the same outputs.

`top_genres` are (genre, percent of watched episodes), largest first."""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from tvreport.records import CastMember

QUIP_MAX_CHARS = 140
Source = Literal["openai", "rules"]

STAR_SIGNS: tuple[str, ...] = (
    "Aries", "Taurus", "Gemini", "Cancer", "Leo", "Virgo",
    "Libra", "Scorpio", "Sagittarius", "Capricorn", "Aquarius", "Pisces",
)  # fmt: skip
PERSONALITIES: tuple[str, ...] = (
    "Sitcom Sage", "Documentary Detective", "Reality Royalty", "Crime Connoisseur", "Escape Artist",
    "The Adventurer", "The Hopeless Romantic", "The Daydreamer", "The Philosopher", "The Party Starter",
)  # fmt: skip


@dataclass
class BffPick:
    character: str
    actor: str
    quip: str
    source: Source


@dataclass
class StarSignPick:
    star_sign: str
    personality: str
    star_sign_quip: str
    personality_quip: str
    genres_quip: str
    score_quip: str
    source: Source


# TMDB TV and movie genre names -> personality; the first mapped top genre decides.
PERSONALITY_BY_GENRE: dict[str, str] = {
    "Comedy": "Sitcom Sage",
    "Documentary": "Documentary Detective", "News": "Documentary Detective", "History": "Documentary Detective",
    "Reality": "Reality Royalty",
    "Crime": "Crime Connoisseur", "Mystery": "Crime Connoisseur", "Thriller": "Crime Connoisseur",
    "Sci-Fi & Fantasy": "Escape Artist", "Science Fiction": "Escape Artist", "Fantasy": "Escape Artist",
    "Horror": "Escape Artist",
    "Action & Adventure": "The Adventurer", "Action": "The Adventurer", "Adventure": "The Adventurer",
    "Western": "The Adventurer",
    "Romance": "The Hopeless Romantic", "Soap": "The Hopeless Romantic",
    "Animation": "The Daydreamer", "Family": "The Daydreamer", "Kids": "The Daydreamer",
    "Drama": "The Philosopher", "War & Politics": "The Philosopher", "War": "The Philosopher",
    "Talk": "The Party Starter", "Music": "The Party Starter",
}  # fmt: skip
DEFAULT_PERSONALITY = "The Daydreamer"

# Personality -> element; the average Rotten Tomatoes score then picks the sign in it.
_ELEMENT_SIGNS: dict[str, tuple[str, str, str]] = {
    "fire": ("Aries", "Sagittarius", "Leo"),
    "earth": ("Taurus", "Capricorn", "Virgo"),
    "air": ("Gemini", "Aquarius", "Libra"),
    "water": ("Pisces", "Cancer", "Scorpio"),
}
_ELEMENT_BY_PERSONALITY: dict[str, str] = {
    "The Adventurer": "fire", "Reality Royalty": "fire", "The Party Starter": "fire",
    "Documentary Detective": "earth", "Crime Connoisseur": "earth",
    "Sitcom Sage": "air", "Escape Artist": "air", "The Philosopher": "air",
    "The Hopeless Romantic": "water", "The Daydreamer": "water",
}  # fmt: skip

_SIGN_TRAITS: dict[str, str] = {
    "Aries": "first in line for every premiere", "Taurus": "loyal to a comfort show to the very end",
    "Gemini": "three series on the go at once", "Cancer": "crying at every reunion episode",
    "Leo": "only here for the main character", "Virgo": "spotting every continuity error",
    "Libra": "weighing both sides of every love triangle", "Scorpio": "guessing the twist by episode two",
    "Sagittarius": "always chasing the next big adventure", "Capricorn": "finishing every season you start",
    "Aquarius": "watching what nobody else has found yet", "Pisces": "living inside the story",
}  # fmt: skip

_PERSONALITY_QUIPS: dict[str, str] = {
    "Sitcom Sage": "You quote punchlines like scripture and laugh before the joke lands.",
    "Documentary Detective": "Facts first, fiction later: you press play to learn something.",
    "Reality Royalty": "You never miss a rose ceremony, a bake-off or a dramatic exit.",
    "Crime Connoisseur": "You had the culprit figured out before the opening credits ended.",
    "Escape Artist": "Why stay on Earth when there are dragons and starships to follow?",
    "The Adventurer": "Explosions, chases, daring escapes: your couch is a launch pad.",
    "The Hopeless Romantic": "Every slow-burn romance gets your full, swooning attention.",
    "The Daydreamer": "You watch with wide eyes and a heart open to any kind of wonder.",
    "The Philosopher": "Give you a drama with a moral dilemma and you are set for the weekend.",
    "The Party Starter": "Music, hosts, banter: your TV is always the life of the room.",
}

_BFF_TEMPLATES: tuple[str, ...] = (
    "{episodes} episodes together with {character} from {show}: that is best-friend territory.",
    "{character} from {show} gets you, and with your {genre} streak, you get {character}.",
    "If {show} were real, {character} would already be in your group chat.",
)


def clip_quip(text: str, limit: int = QUIP_MAX_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word boundary."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def _stable_index(seed: str, size: int) -> int:
    # crc32, not hash(): hash() is salted per process, which would break determinism.
    return zlib.crc32(seed.encode("utf-8")) % size


def bff_candidates(characters: Sequence[CastMember]) -> list[CastMember]:
    """Cast members with a character name, one per name, in the given order (names
    trimmed). When TMDB names no character at all, the actors stand in for them."""
    named = _unique_by_character(
        CastMember(name=m.name, character=(m.character or "").strip(), episodes=m.episodes) for m in characters
    )
    if named:
        return named
    return _unique_by_character(
        CastMember(name=m.name, character=(m.name or "").strip(), episodes=m.episodes) for m in characters
    )


def _unique_by_character(members: Iterable[CastMember]) -> list[CastMember]:
    seen: set[str] = set()
    unique = []
    for member in members:
        if member.character and member.character not in seen:
            seen.add(member.character)
            unique.append(member)
    return unique


def rule_bff(show_title: str, characters: Sequence[CastMember], top_genres: Sequence[tuple[str, float]]) -> BffPick:
    """The character seen the most (most episodes; billing order breaks ties)."""
    candidates = bff_candidates(characters)
    if not candidates:
        raise ValueError("no character to pick a BFF from")
    best = max(candidates, key=lambda m: m.episodes)  # max keeps the first of equals
    genre = top_genres[0][0] if top_genres else "TV"
    template = _BFF_TEMPLATES[_stable_index(f"{show_title}|{best.character}", len(_BFF_TEMPLATES))]
    if "{episodes}" in template and best.episodes <= 0:
        template = _BFF_TEMPLATES[1]
    quip = template.format(episodes=best.episodes, character=best.character, show=show_title, genre=genre)
    return BffPick(character=best.character, actor=best.name, quip=clip_quip(quip), source="rules")


def rule_personality(top_genres: Sequence[tuple[str, float]]) -> str:
    for genre, _ in top_genres:
        if genre in PERSONALITY_BY_GENRE:
            return PERSONALITY_BY_GENRE[genre]
    return DEFAULT_PERSONALITY


def rule_star_sign(personality: str, average_score: float | None) -> str:
    """Element from the personality; within it, the score band (under 60, 60-79,
    80 and up; unknown counts as the middle band)."""
    signs = _ELEMENT_SIGNS[_ELEMENT_BY_PERSONALITY.get(personality, "water")]
    if average_score is None:
        return signs[1]
    return signs[0] if average_score < 60 else signs[1] if average_score < 80 else signs[2]


def genres_quip(top_genres: Sequence[tuple[str, float]]) -> str:
    if not top_genres:
        return "No genre owns you: you roam the whole catalogue."
    first, share = top_genres[0]
    text = f"{first} at {share:.0f}% of your episodes"
    if len(top_genres) > 1:
        text += f", with {top_genres[1][0]} close behind"
    return clip_quip(text + ": you know exactly what you like.")


def score_quip(average_score: float | None) -> str:
    if average_score is None:
        return "No Rotten Tomatoes verdict on your shows: you watch far off the beaten path."
    if average_score >= 80:
        return clip_quip(f"An average Tomatometer of {average_score:.0f}%: the critics trust your remote.")
    if average_score >= 60:
        return clip_quip(f"An average Tomatometer of {average_score:.0f}%: solid picks with a few wild cards.")
    return clip_quip(f"An average Tomatometer of {average_score:.0f}%: guilty pleasures, proudly streamed.")


def rule_star_sign_pick(
    top_genres: Sequence[tuple[str, float]], average_score: float | None, top_shows: Sequence[str]
) -> StarSignPick:
    personality = rule_personality(top_genres)
    sign = rule_star_sign(personality, average_score)
    favourite = f" ({top_shows[0]}, obviously)" if top_shows else ""
    return StarSignPick(
        star_sign=sign,
        personality=personality,
        star_sign_quip=clip_quip(f"A true {sign}: {_SIGN_TRAITS[sign]}{favourite}."),
        personality_quip=clip_quip(_PERSONALITY_QUIPS[personality]),
        genres_quip=genres_quip(top_genres),
        score_quip=score_quip(average_score),
        source="rules",
    )
