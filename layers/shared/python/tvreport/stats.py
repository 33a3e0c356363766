"""Viewing statistics for the report, computed from stored records only.

Pure and deterministic: no I/O, no clock, and the same records in any order give the
same result (every ranking ends on a unique key).

Two units are counted:
- a *history show* is one `ViewingRecord` with kind "show" (one per `show_key`, the
  Viewing table key); counts, top shows and the first show use it;
- a *TMDB show* is a `CachedShow` that at least one history show resolved to, with the
  episodes and plays of those records summed (two spellings of one show in the history
  count once); genres, the top actor, the Rotten Tomatoes average and the TV BFF show
  use it. A record whose `tmdb_id` is None or missing from `shows` has no TMDB data.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from tvreport.records import CachedShow, ViewingRecord

TOP_GENRES = 5

_SHOW = "show"
_MOVIE = "movie"


class _ApiModel(BaseModel):
    # Built at the first statistics (a session's completion), not at every importer's cold start.
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, defer_build=True)


class GenreShare(_ApiModel):
    genre: str
    percent: float


class RankedShow(_ApiModel):
    title: str
    episodes: int  # for the last-year ranking: episodes watched in the last year
    tmdb_id: int | None


class FirstShow(_ApiModel):
    title: str
    first_played: date
    tmdb_id: int | None


class ActorRole(_ApiModel):
    title: str  # the TMDB name of the show
    character: str
    tmdb_id: int
    episodes_watched: int


class TopActor(_ApiModel):
    name: str
    show_count: int
    episodes_watched: int  # summed over the shows they appear in
    roles: list[ActorRole]


class RtAverage(_ApiModel):
    score: float | None  # None when no watched show has a score
    shows_with_score: int  # TMDB shows that contributed


class Coverage(_ApiModel):
    shows: int  # history shows
    shows_with_tmdb: int  # history shows resolved to a cached TMDB show
    shows_with_rt_score: int  # of those, the ones whose TMDB show has an RT score


class MonthCount(_ApiModel):
    month: str  # "YYYY-MM"
    episodes: int  # episode plays that month (an episode watched on two days counts twice)


class ViewingStatistics(_ApiModel):
    shows_watched: int
    episodes_watched: int
    movies_watched: int
    total_plays: int
    top_genres: list[GenreShare]
    top_shows: list[RankedShow]
    top_shows_last_year: list[RankedShow]
    first_show: FirstShow | None
    top_actor: TopActor | None
    average_rt_score: RtAverage
    coverage: Coverage
    # every month from the first to the last episode play, months without any included
    episodes_by_month: list[MonthCount] = []
    history_first_date: date | None = None  # first play of anything (shows and movies)
    history_last_date: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON-ready dict for the API (dates as ISO strings)."""
        return self.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class _WatchedTmdbShow:
    show: CachedShow
    episodes: int
    plays: int
    last_played: date


def compute_statistics(
    records: list[ViewingRecord], shows: dict[int, CachedShow], top_n: int = 3
) -> ViewingStatistics:
    """Every statistic of the report from one session's records and the show cache."""
    history_shows = [record for record in records if record.kind == _SHOW]
    movies = [record for record in records if record.kind == _MOVIE]
    watched = _watched_tmdb_shows(history_shows, shows)
    return ViewingStatistics(
        shows_watched=len({record.show_key for record in history_shows}),
        episodes_watched=sum(record.episodes for record in history_shows),
        movies_watched=len({record.show_key for record in movies}),
        total_plays=sum(record.plays for record in records),
        top_genres=_genre_shares(watched)[:TOP_GENRES],
        top_shows=_top_shows(history_shows, top_n),
        top_shows_last_year=_top_shows_last_year(history_shows, top_n),
        first_show=_first_show(history_shows),
        top_actor=_top_actor(watched),
        average_rt_score=_average_rt_score(watched),
        coverage=_coverage(history_shows, shows),
        episodes_by_month=_episodes_by_month(history_shows),
        history_first_date=min((r.first_played for r in records), default=None),
        history_last_date=max((r.last_played for r in records), default=None),
    )


def top_show_for_bff(records: list[ViewingRecord], shows: dict[int, CachedShow]) -> CachedShow | None:
    """The most-watched TMDB show that has cast (the TV BFF is one of its characters).

    Ranked like the TMDB shows everywhere: episodes, then plays, then last played
    (recent first), then name and id."""
    history_shows = [record for record in records if record.kind == _SHOW]
    for watched in _ranked(_watched_tmdb_shows(history_shows, shows)):
        if watched.show.cast:
            return watched.show
    return None


def _genre_shares(watched: Iterable[_WatchedTmdbShow]) -> list[GenreShare]:
    """Share of watched episodes per genre, all genres, largest first.

    Each TMDB show adds its watched episodes to every one of its genres, so a drama
    comedy with 10 episodes adds 10 to Drama and 10 to Comedy; a genre's percent is its
    total over the sum of all genre totals (percentages add up to ~100). Sorted by the
    exact total (desc) then name, and rounded to 1 decimal only at the end. Shows
    without TMDB data or without genres are not counted."""
    totals: dict[str, int] = defaultdict(int)
    for item in watched:
        for genre in set(item.show.genres):
            totals[genre] += item.episodes
    grand_total = sum(totals.values())
    if grand_total == 0:
        return []
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
    return [GenreShare(genre=genre, percent=round(100 * total / grand_total, 1)) for genre, total in ranked]


def _top_shows(history_shows: list[ViewingRecord], top_n: int) -> list[RankedShow]:
    """Top N history shows by episodes; ties: plays, last played (recent first), title."""
    ranked = sorted(history_shows, key=lambda r: _rank_key(r, r.episodes))
    return [RankedShow(title=r.title, episodes=r.episodes, tmdb_id=r.tmdb_id) for r in ranked[:top_n]]


def _top_shows_last_year(history_shows: list[ViewingRecord], top_n: int) -> list[RankedShow]:
    """Top N by episodes watched in the last year (shows with none are left out);
    ties as in `_top_shows`."""
    recent = [r for r in history_shows if r.episodes_last_year > 0]
    ranked = sorted(recent, key=lambda r: _rank_key(r, r.episodes_last_year))
    return [
        RankedShow(title=r.title, episodes=r.episodes_last_year, tmdb_id=r.tmdb_id) for r in ranked[:top_n]
    ]


def _first_show(history_shows: list[ViewingRecord]) -> FirstShow | None:
    """The history show first played earliest (ties by title, then show key)."""
    if not history_shows:
        return None
    earliest = min(history_shows, key=lambda r: (r.first_played, r.title, r.show_key))
    return FirstShow(title=earliest.title, first_played=earliest.first_played, tmdb_id=earliest.tmdb_id)


def _episodes_by_month(history_shows: list[ViewingRecord]) -> list[MonthCount]:
    """Episode plays per calendar month, every month from the first to the last one
    with a play (zeros included, so a chart's gaps are real gaps)."""
    totals: dict[str, int] = defaultdict(int)
    for record in history_shows:
        for month_key, plays in record.plays_by_month.items():
            totals[month_key] += plays
    if not totals:
        return []
    year, month = map(int, min(totals).split("-"))
    last = max(totals)
    months = []
    while (key := f"{year:04d}-{month:02d}") <= last:
        months.append(MonthCount(month=key, episodes=totals.get(key, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _top_actor(watched: Iterable[_WatchedTmdbShow]) -> TopActor | None:
    """The cast member seen in the most distinct TMDB shows; ties: more episodes watched
    across those shows, then name. Actors are matched by exact (trimmed) name, the only
    identity the cache keeps; several characters in one show are joined with " / "."""
    roles_by_actor: dict[str, list[ActorRole]] = defaultdict(list)
    for item in watched:
        characters_by_actor: dict[str, list[str]] = defaultdict(list)
        for member in item.show.cast:
            name = member.name.strip()
            if name:
                characters_by_actor[name].append(member.character.strip())
        for name, characters in characters_by_actor.items():
            character = " / ".join(sorted({c for c in characters if c}))
            roles_by_actor[name].append(
                ActorRole(
                    title=item.show.name,
                    character=character,
                    tmdb_id=item.show.tmdb_id,
                    episodes_watched=item.episodes,
                )
            )
    if not roles_by_actor:
        return None

    def rank(pair: tuple[str, list[ActorRole]]) -> tuple[int, int, str]:
        name, roles = pair
        return (-len(roles), -sum(role.episodes_watched for role in roles), name)

    name, roles = min(roles_by_actor.items(), key=rank)
    return TopActor(
        name=name,
        show_count=len(roles),
        episodes_watched=sum(role.episodes_watched for role in roles),
        roles=sorted(roles, key=lambda role: (-role.episodes_watched, role.title, role.tmdb_id)),
    )


def _average_rt_score(watched: Iterable[_WatchedTmdbShow]) -> RtAverage:
    """Rotten Tomatoes score averaged over watched TMDB shows, weighted by how much of
    each show the viewer saw.

    A show's score is its critics score, or its audience score when it has no critics
    score; shows with neither are left out. Its weight is
    episodes watched / number_of_episodes, capped at 1.0. When TMDB gives no episode
    count (or 0), the viewer's own count is the only one known, so the weight is 1.0:
    the same as a show they finished, rather than dropping a show that has a score.
    Rounded to 1 decimal; None when no show has a score (or every weight is 0)."""
    weighted_sum = 0.0
    total_weight = 0.0
    scored = 0
    for item in watched:
        score = _rt_score(item.show)
        if score is None:
            continue
        weight = _watched_share(item)
        weighted_sum += score * weight
        total_weight += weight
        scored += 1
    average = round(weighted_sum / total_weight, 1) if total_weight > 0 else None
    return RtAverage(score=average, shows_with_score=scored)


def _rt_score(show: CachedShow) -> int | None:
    return show.rt_critics_score if show.rt_critics_score is not None else show.rt_audience_score


def _watched_share(item: _WatchedTmdbShow) -> float:
    known_episodes = item.show.number_of_episodes or 0
    if known_episodes <= 0:
        return 1.0
    return min(item.episodes / known_episodes, 1.0)


def _coverage(history_shows: list[ViewingRecord], shows: dict[int, CachedShow]) -> Coverage:
    resolved = {r.show_key: show for r in history_shows if (show := _cached_show(r, shows)) is not None}
    return Coverage(
        shows=len({r.show_key for r in history_shows}),
        shows_with_tmdb=len(resolved),
        shows_with_rt_score=sum(1 for show in resolved.values() if _rt_score(show) is not None),
    )


def _rank_key(record: ViewingRecord, episodes: int) -> tuple[int, int, int, str, str]:
    # Most first; recent last play first (negated ordinal); then title and key.
    return (-episodes, -record.plays, -record.last_played.toordinal(), record.title, record.show_key)


def _cached_show(record: ViewingRecord, shows: dict[int, CachedShow]) -> CachedShow | None:
    return shows.get(record.tmdb_id) if record.tmdb_id is not None else None


def _watched_tmdb_shows(
    history_shows: list[ViewingRecord], shows: dict[int, CachedShow]
) -> list[_WatchedTmdbShow]:
    """History shows grouped by the TMDB show they resolved to, sorted by TMDB id (a
    fixed order, so float sums do not depend on the input order)."""
    by_id: dict[int, list[ViewingRecord]] = defaultdict(list)
    for record in history_shows:
        if record.tmdb_id is not None and _cached_show(record, shows) is not None:
            by_id[record.tmdb_id].append(record)
    return [
        _WatchedTmdbShow(
            show=shows[tmdb_id],
            episodes=sum(r.episodes for r in group),
            plays=sum(r.plays for r in group),
            last_played=max(r.last_played for r in group),
        )
        for tmdb_id, group in sorted(by_id.items())
    ]


def _ranked(watched: list[_WatchedTmdbShow]) -> list[_WatchedTmdbShow]:
    return sorted(
        watched,
        key=lambda w: (-w.episodes, -w.plays, -w.last_played.toordinal(), w.show.name, w.show.tmdb_id),
    )
