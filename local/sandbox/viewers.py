"""Viewing histories the Gandalf sandbox serves, as Gandalf `Activity` objects.

Built-in profiles are generated from the catalogue with a fixed seed, so two builds
for the same `today` are equal; a Netflix `NetflixViewingHistory.csv` export can be
turned into the same shape."""
from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from local.sandbox.catalogue import Catalogue, Show, default_catalogue
from tvreport.activity import Activity
from tvreport.netflix.csv_reader import read_netflix_csv
from tvreport.netflix.titles import TitleError, parse_title, series_names

GANDALF_DATE_FORMAT = "%d/%m/%Y"  # the schema's documented DD/MM/YYYY
HISTORY_SPAN_DAYS = 4 * 365
REWATCH_SHARE = 0.03  # share of plays that repeat an episode already seen


@dataclass(frozen=True)
class ViewerProfile:
    name: str
    activities: int  # plays, episodes and movies together
    shows: int  # distinct shows
    movies: int
    seed: int


VIEWER_PROFILES: dict[str, ViewerProfile] = {
    profile.name: profile
    for profile in (
        ViewerProfile("light", activities=300, shows=25, movies=3, seed=101),
        ViewerProfile("typical", activities=1_500, shows=80, movies=8, seed=202),
        ViewerProfile("heavy", activities=5_400, shows=335, movies=14, seed=303),
    )
}


def gandalf_activity(
    activity_id: str, title: str, watched_on: date, subject: Sequence[dict[str, str]] = ()
) -> dict:
    """One `Activity` exactly as Gandalf's getActivity returns it."""
    return {
        "__typename": "Activity",
        "id": activity_id,
        "metadata": {
            "__typename": "NetflixActivityMetadata",
            "title": title,
            "date": watched_on.strftime(GANDALF_DATE_FORMAT),
            "subject": list(subject),
        },
    }


def _subject(show: Show, with_tvdb: bool) -> list[dict[str, str]]:
    identifiers = []
    if show.imdb_id:
        identifiers.append({"__typename": "Identifier", "value": show.imdb_id, "identifierType": "IMDB"})
    if with_tvdb:
        identifiers.append({"__typename": "Identifier", "value": show.tvdb_id, "identifierType": "TVDB"})
    return identifiers


def _episode_title(show: Show, season: int, episode: int) -> str:
    season_label = "Limited Series" if len(show.seasons) == 1 else f"Season {season}"
    return f"{show.title}: {season_label}: Episode {episode}"


def _allocate_plays(rng: random.Random, shows: list[Show], total: int) -> list[int]:
    """Distinct episodes per show: a heavy-tailed share of `total`, capped by each
    show's episode count, every show at least one."""
    weights = [rng.lognormvariate(0, 1.1) for _ in shows]
    capacity = [show.number_of_episodes for show in shows]
    plays = [1] * len(shows)
    remaining = total - len(shows)
    while remaining > 0:
        open_shows = [i for i, show_plays in enumerate(plays) if show_plays < capacity[i]]
        if not open_shows:
            break
        weight_sum = sum(weights[i] for i in open_shows)
        granted = 0
        for i in open_shows:
            share = min(capacity[i] - plays[i], int(remaining * weights[i] / weight_sum))
            plays[i] += share
            granted += share
        if granted == 0:  # shares rounded to nothing: hand out the rest one by one
            for i in open_shows[:remaining]:
                plays[i] += 1
                granted += 1
        remaining -= granted
    return plays


def _show_plays(rng: random.Random, show: Show, episodes: int, today: date) -> list[tuple[str, date]]:
    """Episodes in order from S1E1, binged from a random start, a few rewatched."""
    episode_keys = [
        (season, episode)
        for season, count in enumerate(show.seasons, start=1)
        for episode in range(1, count + 1)
    ][:episodes]
    watched_on = today - timedelta(days=rng.randrange(HISTORY_SPAN_DAYS))
    plays = []
    for season, episode in episode_keys:
        plays.append((_episode_title(show, season, episode), min(watched_on, today)))
        watched_on += timedelta(days=rng.choice((0, 0, 0, 1, 1, 2, 3, 7)))
    rewatches = [rng.choice(plays) for _ in range(int(len(plays) * REWATCH_SHARE))]
    return plays + [(title, min(today, day + timedelta(days=rng.randrange(1, 60)))) for title, day in rewatches]


def build_viewer(profile: ViewerProfile | str, today: date, catalogue: Catalogue | None = None) -> list[dict]:
    """A deterministic history for `profile`, newest first, ending on `today`."""
    profile = VIEWER_PROFILES[profile] if isinstance(profile, str) else profile
    catalogue = catalogue or default_catalogue()
    rng = random.Random(profile.seed)
    pool = sorted(catalogue.shows, key=lambda show: show.tmdb_id)
    # Popular shows are more likely watched, as in real histories.
    keyed = sorted(pool, key=lambda show: rng.random() ** (1 / (1 + show.popularity ** 0.5)), reverse=True)
    shows = keyed[: profile.shows]
    episode_plays = profile.activities - profile.movies
    allocation = _allocate_plays(rng, shows, round(episode_plays / (1 + REWATCH_SHARE)))

    plays: list[tuple[str, date, list[dict[str, str]]]] = []
    for show, episodes in zip(shows, allocation, strict=False):
        subject = [] if show.tmdb_missing else _subject(show, with_tvdb=rng.random() < 0.5)
        plays.extend((title, day, subject) for title, day in _show_plays(rng, show, episodes, today))
    for movie in rng.sample(catalogue.movies, min(profile.movies, len(catalogue.movies))):
        plays.append((movie.title, today - timedelta(days=rng.randrange(HISTORY_SPAN_DAYS)), []))

    plays.sort(key=lambda play: (play[1], play[0]), reverse=True)
    return [
        gandalf_activity(str(uuid.UUID(int=rng.getrandbits(128), version=4)), title, day, subject)
        for title, day, subject in plays
    ]


def build_viewers(today: date, catalogue: Catalogue | None = None) -> dict[str, list[dict]]:
    """Every built-in profile, keyed by its name (usable as a sandbox dataKey)."""
    return {name: build_viewer(profile, today, catalogue) for name, profile in VIEWER_PROFILES.items()}


def viewer_from_activities(activities: Sequence[Activity], catalogue: Catalogue | None = None) -> list[dict]:
    """Gandalf activities for already-read history rows; shows the catalogue knows get
    their IMDB identifier, as Gandalf attaches one to titles it recognises."""
    catalogue = catalogue or default_catalogue()
    series = series_names(activity.title for activity in activities)
    viewer = []
    for index, activity in enumerate(activities):
        try:
            parsed = parse_title(activity.title, series)
        except TitleError:
            parsed = None
        matches = catalogue.find_by_title(parsed.show) if parsed and parsed.kind == "episode" else []
        # Same-name shows (The Office US/UK) are ambiguous: leave them unidentified.
        subject = _subject(matches[0], with_tvdb=False) if len(matches) == 1 else []
        activity_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"netflix-csv/{index}/{activity.title}"))
        viewer.append(gandalf_activity(activity_id, activity.title, activity.watched_on, subject))
    return viewer


def viewer_from_netflix_csv(text: str, catalogue: Catalogue | None = None) -> list[dict]:
    """Gandalf activities for a NetflixViewingHistory.csv export (rows the reader
    rejects are left out, as Gandalf would not have them either)."""
    return viewer_from_activities(read_netflix_csv(text).activities, catalogue)
