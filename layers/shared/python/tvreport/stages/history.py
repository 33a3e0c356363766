"""Turning raw viewing activities into per-show play sets (shared by both sources)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from tvreport.netflix.titles import TitleError, parse_title, series_names
from tvreport.records import ViewingRecord
from tvreport.repositories.viewing import play_key
from tvreport.text import normalize_title


@dataclass
class ShowPlays:
    title: str
    kind: str  # "show" | "movie"
    imdb_id: str | None = None
    plays: set[str] = field(default_factory=set)


def record_key(kind: str, show: str) -> str:
    """Viewing-table sort key; movies get their own namespace so a film never merges
    with a series of the same name."""
    key = normalize_title(show)
    return key if kind == "show" else f"movie:{key}"


def group_plays(activities: list[tuple[str, date, str | None]]) -> tuple[dict[str, ShowPlays], int]:
    """(raw title, watched on, imdb id) -> plays per show key, and the count of
    titles that could not be parsed."""
    grouped: dict[str, ShowPlays] = {}
    rejected = 0
    # The whole batch decides which unlabelled "Name: Episode" titles are series.
    series = series_names(raw for raw, _, _ in activities)
    for raw_title, watched_on, imdb_id in activities:
        try:
            parsed = parse_title(raw_title, series)
        except TitleError:
            rejected += 1
            continue
        kind = "show" if parsed.kind == "episode" else "movie"
        key = record_key(kind, parsed.show)
        if not key.strip(":").replace("movie", ""):
            rejected += 1
            continue
        entry = grouped.setdefault(key, ShowPlays(title=parsed.show, kind=kind))
        entry.imdb_id = entry.imdb_id or imdb_id
        episode = f"{parsed.season or ''}|{parsed.episode or parsed.show}"
        entry.plays.add(play_key(watched_on, episode))
    return grouped, rejected


def chunk(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def count_by_kind(records: Iterable[ViewingRecord]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        counts[record.kind] += 1
    return counts
