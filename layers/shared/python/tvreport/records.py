"""Domain records stored in DynamoDB: the repositories build them from items and
take them (or typed values) to write; no caller reads an item's attribute names."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class ViewingRecord:
    """One show (or movie) in one session's history."""

    session_id: str
    show_key: str  # text.normalize_title of the show name
    title: str  # the show name as the history spells it
    kind: str  # "show" or "movie"
    episodes: int  # distinct episodes watched
    plays: int  # activities (an episode watched twice counts twice)
    episodes_last_year: int  # distinct episodes watched in the 12 months before the session
    first_played: date
    last_played: date
    imdb_id: str | None = None
    tmdb_id: int | None = None  # set by queryShowData when TMDB matched
    # "YYYY-MM" -> plays that month (the report's episodes-per-month chart)
    plays_by_month: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ShowAlias:
    """What a title (or an IMDB id) was last looked up as: a TMDB id, or None for "not on TMDB"."""

    tmdb_id: int | None
    fresh: bool  # looked up within the cache's maximum age


@dataclass(frozen=True)
class RtScores:
    """What a Rotten Tomatoes page says (any field may be missing)."""

    critics_score: int | None = None
    audience_score: int | None = None
    critics_reviews: int | None = None
    audience_reviews: int | None = None  # a banded count ("10,000+ Ratings") gives its lower bound
    certified: bool | None = None  # Certified Fresh
    url: str | None = None  # set by the client

    @property
    def has_score(self) -> bool:
        return self.critics_score is not None or self.audience_score is not None


@dataclass
class CastMember:
    name: str
    character: str
    episodes: int = 0  # total_episode_count in aggregate credits


@dataclass
class CachedShow:
    """A show in the shared cache (one item per TMDB id)."""

    tmdb_id: int
    name: str
    first_air_year: int | None = None
    genres: list[str] = field(default_factory=list)
    number_of_episodes: int | None = None
    overview: str = ""
    poster_path: str | None = None
    popularity: float | None = None
    imdb_id: str | None = None
    cast: list[CastMember] = field(default_factory=list)  # top billed, with characters
    rt_url: str | None = None
    rt_critics_score: int | None = None
    rt_audience_score: int | None = None
    rt_critics_reviews: int | None = None
    rt_certified: bool | None = None
    rt_checked_at: str | None = None  # ISO time of the last crawl that got an answer (found or not)
    rt_outcome: str | None = None  # that crawl's answer: "scored" | "unscored" | "not_found"
    fetched_at: str | None = None  # ISO time of the TMDB fetch
