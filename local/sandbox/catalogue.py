"""The bundled catalogue of real TV series the sandbox services serve.

Built from data/source/*.txt by data/build_catalogue.py; loaded and validated here
with pydantic, then indexed the ways the three services look shows up."""
from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tvreport.text import normalize_title

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "catalogue.json"

# TMDB's TV genre ids, as /3/genre/tv/list returns them.
TMDB_GENRE_IDS: dict[str, int] = {
    "Action & Adventure": 10759,
    "Animation": 16,
    "Comedy": 35,
    "Crime": 80,
    "Documentary": 99,
    "Drama": 18,
    "Family": 10751,
    "Kids": 10762,
    "Mystery": 9648,
    "News": 10763,
    "Reality": 10764,
    "Sci-Fi & Fantasy": 10765,
    "Soap": 10766,
    "Talk": 10767,
    "War & Politics": 10768,
}


class CastMember(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    character: str
    episodes: int = Field(ge=1)


class RottenTomatoesEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str = Field(pattern=r"^[0-9a-z_]+$")
    critics_score: int = Field(ge=0, le=100)
    audience_score: int = Field(ge=0, le=100)
    critics_reviews: int = Field(ge=1)
    certified: bool = False


class Show(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    first_air_year: int = Field(ge=1940, le=2030)
    tmdb_id: int = Field(ge=1)
    tmdb_id_is_real: bool
    imdb_id: str | None = Field(default=None, pattern=r"^tt\d{7,8}$")
    original_title: str | None = None
    genres: list[str] = Field(min_length=1)
    seasons: list[int] = Field(min_length=1)
    overview: str
    poster_path: str | None = None
    popularity: float = Field(ge=0)
    cast: list[CastMember] = Field(min_length=1, max_length=6)
    rotten_tomatoes: RottenTomatoesEntry | None = None
    tmdb_missing: bool = False

    @field_validator("genres")
    @classmethod
    def _known_genres(cls, genres: list[str]) -> list[str]:
        unknown = set(genres) - TMDB_GENRE_IDS.keys()
        if unknown:
            raise ValueError(f"unknown TMDB genres {sorted(unknown)}")
        return genres

    @field_validator("seasons")
    @classmethod
    def _positive_seasons(cls, seasons: list[int]) -> list[int]:
        if any(count < 1 for count in seasons):
            raise ValueError("every season has at least one episode")
        return seasons

    @property
    def number_of_episodes(self) -> int:
        return sum(self.seasons)

    @property
    def first_air_date(self) -> str:
        # The catalogue keeps the year only; TMDB wants a full date.
        return f"{self.first_air_year}-01-15"

    @property
    def tvdb_id(self) -> str:
        # Stable stand-in so Gandalf subjects can carry a TVDB identifier too.
        return str(70_000 + self.tmdb_id % 900_000)


class Movie(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    year: int


class Catalogue(BaseModel):
    shows: list[Show]
    movies: list[Movie]

    @cached_property
    def by_tmdb_id(self) -> dict[int, Show]:
        return {show.tmdb_id: show for show in self.shows}

    @cached_property
    def by_imdb_id(self) -> dict[str, Show]:
        return {show.imdb_id: show for show in self.shows if show.imdb_id}

    @cached_property
    def by_rt_slug(self) -> dict[str, Show]:
        return {show.rotten_tomatoes.slug: show for show in self.shows if show.rotten_tomatoes}

    @cached_property
    def by_title(self) -> dict[str, list[Show]]:
        """normalize_title -> shows (a list: 'The Office' is two shows)."""
        index: dict[str, list[Show]] = {}
        for show in self.shows:
            for name in filter(None, (show.title, show.original_title)):
                index.setdefault(normalize_title(name), []).append(show)
        return index

    def find_by_title(self, title: str) -> list[Show]:
        return self.by_title.get(normalize_title(title), [])


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    return Catalogue.model_validate_json(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The bundled catalogue, parsed once per process."""
    return load_catalogue()
