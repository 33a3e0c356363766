"""Generated shows for large benchmark histories (the bundled catalogue has a few
hundred real series; `python -m local bench --scenario scale-100k` needs thousands).

Each generated show copies a real show's shape (genres, cast, seasons grown to ten
episodes at least) under a unique made-up title of three two-letter syllables, so
no title is a substring of another (the sandbox searches by substring), with its
own TMDB id, IMDB id and Rotten Tomatoes page. Deterministic for a seed."""
from __future__ import annotations

import random

from local.sandbox.catalogue import Catalogue, RottenTomatoesEntry, Show

_SYLLABLES = ("ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "va", "ze", "bo", "di", "fu", "go", "hi", "ju",
              "ke", "la", "mo", "ni")
FIRST_TMDB_ID = 5_000_000


def synthetic_title(index: int) -> str:
    base = len(_SYLLABLES)
    if index >= base**3:
        raise ValueError(f"at most {base**3} synthetic shows")
    parts = (_SYLLABLES[index // base**2], _SYLLABLES[index // base % base], _SYLLABLES[index % base])
    return "Synthetic " + " ".join(part.capitalize() for part in parts)


def synthetic_shows(base: Catalogue, count: int, seed: int = 404) -> list[Show]:
    rng = random.Random(seed)
    templates = [show for show in base.shows if not show.tmdb_missing]
    shows = []
    for index in range(count):
        template = rng.choice(templates)
        shows.append(template.model_copy(update={
            "title": synthetic_title(index),
            "original_title": None,
            "tmdb_id": FIRST_TMDB_ID + index,
            "tmdb_id_is_real": False,
            "imdb_id": f"tt9{index:07d}",
            "seasons": [max(10, episodes) for episodes in template.seasons],
            "popularity": round(rng.uniform(1, 60), 1),
            "rotten_tomatoes": RottenTomatoesEntry(
                slug=f"synthetic_{index}", critics_score=rng.randrange(20, 100), audience_score=rng.randrange(20, 100),
                critics_reviews=rng.randrange(5, 80)),
        }))
    return shows


def with_synthetic_shows(base: Catalogue, count: int, seed: int = 404) -> tuple[Catalogue, Catalogue]:
    """(the base catalogue plus `count` generated shows, a catalogue of only those)."""
    generated = synthetic_shows(base, count, seed)
    return (Catalogue(shows=[*base.shows, *generated], movies=base.movies),
            Catalogue(shows=generated, movies=base.movies))
