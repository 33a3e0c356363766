"""Build catalogue.json from the hand-written source lists in source/*.txt.

The source is one show per line, which keeps ~450 shows reviewable in a diff:

    Title | year | tmdb | imdb | genres | seasons | popularity | rt | cast | overview [| flags]

- tmdb: a real TMDB id, or `-` (a stable synthetic id >= 9_000_000 is derived)
- imdb: `tt...` or `-`
- genres: codes from GENRE_CODES, comma separated
- seasons: episode counts, `NxK` repeats K N times (`3x10,8` = 10,10,10,8)
- rt: `-` (no Rotten Tomatoes page) or `critics/audience/reviews[/c][@slug]`
  (`c` = Certified Fresh; the slug defaults to the title folded to snake_case)
- cast: `Name=Character[=episodes]` separated by `;` (episodes default to the
  show's total)
- flags (comma separated): `missing` = TMDB search never returns the show (an
  "obscure title"); `aka=<original title>` = the original-language name

Run: python local/sandbox/data/build_catalogue.py
"""
from __future__ import annotations

import json
import re
import unicodedata
import zlib
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SOURCE_DIR = DATA_DIR / "source"
CATALOGUE_PATH = DATA_DIR / "catalogue.json"
SYNTHETIC_TMDB_BASE = 9_000_000

GENRE_CODES = {
    "D": "Drama",
    "C": "Comedy",
    "Cr": "Crime",
    "An": "Animation",
    "Doc": "Documentary",
    "R": "Reality",
    "SF": "Sci-Fi & Fantasy",
    "AA": "Action & Adventure",
    "M": "Mystery",
    "F": "Family",
    "K": "Kids",
    "T": "Talk",
    "WP": "War & Politics",
    "S": "Soap",
    "N": "News",
}

# A few films that turn up in every real history between the episodes.
MOVIES = [
    ("The Irishman", 2019),
    ("Glass Onion: A Knives Out Mystery", 2022),
    ("Don't Look Up", 2021),
    ("Extraction", 2020),
    ("Red Notice", 2021),
    ("Bird Box", 2018),
    ("Marriage Story", 2019),
    ("The Gray Man", 2022),
    ("Roma", 2018),
    ("Enola Holmes", 2020),
    ("All Quiet on the Western Front", 2022),
    ("Spider-Man: Into the Spider-Verse", 2018),
    ("The Adam Project", 2022),
    ("Leave the World Behind", 2023),
]


def snake_slug(title: str) -> str:
    """Rotten Tomatoes folds a title to lower snake_case without accents or punctuation."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", "and").replace("'", "").replace("\u2019", "")
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def synthetic_tmdb_id(title: str, year: int) -> int:
    return SYNTHETIC_TMDB_BASE + zlib.crc32(f"{title}|{year}".encode()) % 900_000


def parse_seasons(spec: str) -> list[int]:
    counts: list[int] = []
    for part in spec.split(","):
        if "x" in part:
            repeat, count = part.split("x")
            counts.extend([int(count)] * int(repeat))
        else:
            counts.append(int(part))
    return counts


def parse_rotten_tomatoes(spec: str, title: str) -> dict | None:
    if spec == "-":
        return None
    spec, _, slug = spec.partition("@")
    fields = spec.split("/")
    critics, audience, reviews = (int(value) for value in fields[:3])
    return {
        "slug": slug or snake_slug(title),
        "critics_score": critics,
        "audience_score": audience,
        "critics_reviews": reviews,
        "certified": len(fields) > 3 and fields[3] == "c",
    }


def parse_cast(spec: str, total_episodes: int) -> list[dict]:
    cast = []
    for member in spec.split(";"):
        name, character, *episodes = (part.strip() for part in member.split("="))
        cast.append(
            {
                "name": name,
                "character": character,
                "episodes": int(episodes[0]) if episodes else total_episodes,
            }
        )
    return cast


def parse_line(line: str) -> dict:
    fields = [field.strip() for field in line.split("|")]
    if len(fields) not in (10, 11):
        raise ValueError(f"expected 10 or 11 fields, got {len(fields)}: {line!r}")
    title, year, tmdb, imdb, genres, seasons, popularity, rt, cast, overview = fields[:10]
    flags = dict(flag.partition("=")[::2] for flag in fields[10].split(",")) if len(fields) == 11 else {}
    year_number = int(year)
    season_counts = parse_seasons(seasons)
    show: dict = {
        "title": title,
        "first_air_year": year_number,
        "tmdb_id": int(tmdb) if tmdb != "-" else synthetic_tmdb_id(title, year_number),
        "tmdb_id_is_real": tmdb != "-",
        "imdb_id": imdb if imdb != "-" else None,
        "genres": [GENRE_CODES[code.strip()] for code in genres.split(",")],
        "seasons": season_counts,
        "overview": overview,
        "poster_path": None,
        "popularity": float(popularity),
        "cast": parse_cast(cast, sum(season_counts)),
        "rotten_tomatoes": parse_rotten_tomatoes(rt, title),
    }
    if "aka" in flags:
        show["original_title"] = flags["aka"]
    if "missing" in flags:
        show["tmdb_missing"] = True
    return show


def build() -> dict:
    shows = []
    for source in sorted(SOURCE_DIR.glob("*.txt")):
        for line in source.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                shows.append(parse_line(line))
    return {
        "shows": shows,
        "movies": [{"title": title, "year": year} for title, year in MOVIES],
    }


def main() -> None:
    catalogue = build()
    CATALOGUE_PATH.write_text(json.dumps(catalogue, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(catalogue['shows'])} shows, {len(catalogue['movies'])} movies -> {CATALOGUE_PATH}")


if __name__ == "__main__":
    main()
