"""The summary behind `python -m local inspect netflix-csv`: what the pipeline would
read from an export, before anything is sent anywhere. It parses titles with the layer's
`parse_title` / `series_names` but counts on its own: every episode play, where the
pipeline's `stages.history.group_plays` keeps one per day and episode and drops a title
whose record key comes out empty."""
from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from tvreport.netflix.csv_reader import read_netflix_csv_detailed
from tvreport.netflix.titles import ParsedTitle, TitleError, parse_title, series_names
from tvreport.text import normalize_title

TOP_SHOWS = 10


def summarize_netflix_csv(text: str) -> dict[str, Any]:
    """A JSON-ready summary of an export.

    - `rows_read`: data rows in the file; `rows_rejected`: `{line, reason}` for every
      row not counted (unreadable, bad date, empty title, or a title `parse_title`
      rejects); `rows_used` = `rows_read - len(rows_rejected)`.
    - `shows` / `movies`: distinct show and movie names (compared by `normalize_title`);
      `episodes`: episode plays; `top_shows`: the 10 shows with the most episode plays
      as `{show, episodes}` (ties by name), the show spelled as its latest play spells it.
    - `first_date` / `last_date`: ISO dates of the earliest and latest counted play.
    Raises `CsvFormatError` when the text has no `Title,Date` header.
    """
    read = read_netflix_csv_detailed(text)
    activities = read.result.activities
    rejected = [(row.line, row.reason) for row in read.result.rejected]
    series = series_names(activity.title for activity in activities)

    used: list[tuple[ParsedTitle, date]] = []
    for activity, line in zip(activities, read.activity_lines, strict=False):
        try:
            used.append((parse_title(activity.title, series), activity.watched_on))
        except TitleError as exc:
            rejected.append((line, str(exc)))

    episode_plays: Counter[str] = Counter()
    spelling: dict[str, tuple[date, str]] = {}  # show key -> latest play and its spelling
    movies: set[str] = set()
    for parsed, watched_on in used:
        key = normalize_title(parsed.show)
        if parsed.kind == "movie":
            movies.add(key)
            continue
        episode_plays[key] += 1
        if key not in spelling or watched_on > spelling[key][0]:
            spelling[key] = (watched_on, parsed.show)

    top = sorted(episode_plays.items(), key=lambda item: (-item[1], spelling[item[0]][1]))
    dates = [watched_on for _, watched_on in used]
    guess = read.date_guess
    return {
        "rows_read": len(activities) + len(read.result.rejected),
        "rows_used": len(used),
        "rows_rejected": [{"line": line, "reason": reason} for line, reason in sorted(rejected)],
        "date_format": read.result.date_format,
        "date_format_ambiguous": read.result.date_format_ambiguous,
        "reason": guess.reason if guess else "",
        "shows": len(episode_plays),
        "movies": len(movies),
        "episodes": sum(episode_plays.values()),
        "top_shows": [
            {"show": spelling[key][1], "episodes": plays} for key, plays in top[:TOP_SHOWS]
        ],
        "first_date": min(dates).isoformat() if dates else None,
        "last_date": max(dates).isoformat() if dates else None,
    }
