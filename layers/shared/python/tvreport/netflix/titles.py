"""Netflix title parsing: `"Show: Season 1: Episode title"` -> show, season, episode.

Netflix writes an episode as `SHOW: SEASON: EPISODE` joined by `": "`, where the show
and the episode may themselves contain `": "`. A movie is one title, colons included.
The rules, in order (parts = the title split on a colon followed by whitespace):

1. Whitespace (TABs, newlines, runs of spaces) collapses to one space; curly quotes are
   kept (show keys fold them later through `tvreport.text.normalize_title`).
2. The first part is the show; it must contain a letter or a digit, else `TitleError`.
   Netflix's unfilled template row `SHOW: SEASON: VideoEpisode` is a `TitleError` too.
3. The first *season label* at part 1 or later splits the title: the parts before it
   are the show, the label is the season, the parts after it the episode. Labels:
   - strong: `Season N`, `Series N`, `Limited Series`, `Miniseries` and their
     translations (`Kausi 3B`, `Minisarja`, `Staffel 2`, `Temporada 1`, ...), and the
     show's own name with a number (`Stranger Things: Stranger Things 3: ...`);
     a strong label may end the title (`Show: Season 2` -> episode None);
   - weak: `Part N`, `Volume N`, `Chapter N` (`Osa`, `Luku`, `Teil`, `Parte`, ...),
     which count only when an episode title follows (`Harry Potter and the Deathly
     Hallows: Part 2` and `John Wick: Chapter 2` are movies).
4. No label, three or more parts: Netflix's template, so part 1 is the season
   (`Häkkilinnut: New Orleans: Paras juosta`).
5. No label, two parts (`A: B`): a movie (`Spider-Man: Homecoming`) unless it looks
   episodic: B is an episode label (`Episode 3`, `Jakso 1`, `Pilot`) or the history
   shows A is a series (see `series_names`: A is the show of a labelled episode, or two
   or more different `A: ...` titles were watched). Then `season=None`, episode=B.
6. One part: a movie.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from tvreport.text import normalize_title

_SEPARATOR = re.compile(r":(?=\s|$)")
_NUMBER = (
    r"(?:\d+[a-z]?|[ivxlc]+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)"
)
_STRONG_LABEL = re.compile(
    r"(?:season|series|kausi|staffel|temporada|saison|seizoen|stagione|säsong|sesong|"
    r"sæson|sezon|sezóna)\s+" + _NUMBER
    + r"|limited\s+series|mini-?series|mini-?serie|minisarja|mini-série|miniserie"
    r"|serie\s+limitada|série\s+limitée|begrenzte\s+serie",
    re.IGNORECASE,
)
_WEAK_LABEL = re.compile(
    r"(?:part|volume|vol\.|chapter|book|collection|osa|luku|teil|parte|partie|deel|del|"
    r"volumen|capítulo|chapitre|kapitel)\s+" + _NUMBER,
    re.IGNORECASE,
)
_EPISODE_LABEL = re.compile(
    r"(?:episode|ep\.|jakso|folge|episodio|épisode|aflevering|avsnitt|afsnit|episódio)\s+"
    r"\d+|pilot|pilotti|piloto|pilote",
    re.IGNORECASE,
)
# Netflix's unfilled template: seen verbatim in a real export.
_PLACEHOLDER = ("SHOW", "SEASON")


class TitleError(ValueError):
    """A title that names no show (empty, only punctuation, a template row)."""


@dataclass(frozen=True)
class ParsedTitle:
    kind: Literal["episode", "movie"]
    show: str  # display name; for a movie the whole title
    season: str | None  # the season-level label as written ("Season 1", "Kausi 3B")
    episode: str | None  # the rest of the title after the season (or after the show)


def clean_whitespace(text: str) -> str:
    """Collapse every run of whitespace (TABs, newlines, NBSP) to one space."""
    return " ".join(text.split())


def split_title(raw: str) -> list[str]:
    """The title's parts: split on a colon followed by whitespace (or the end), each
    part whitespace-cleaned. Empty parts after the first are dropped; an empty first
    part is kept so the caller can reject a title with no show."""
    parts = [clean_whitespace(part) for part in _SEPARATOR.split(raw)]
    return parts[:1] + [part for part in parts[1:] if part]


def _is_strong_label(part: str) -> bool:
    return _STRONG_LABEL.fullmatch(part) is not None


def _is_weak_label(part: str) -> bool:
    return _WEAK_LABEL.fullmatch(part) is not None


def _repeats_show(part: str, show: str) -> bool:
    """`Stranger Things 3` under `Stranger Things`: a season named after its show."""
    pattern = re.escape(show) + r"\s+" + _NUMBER
    return re.fullmatch(pattern, part, re.IGNORECASE) is not None


def _season_index(parts: list[str]) -> int | None:
    """Index of the first part that is a season-level label (never 0, the show)."""
    for index in range(1, len(parts)):
        part = parts[index]
        has_episode_after = index < len(parts) - 1
        if _is_strong_label(part) or _repeats_show(part, ": ".join(parts[:index])):
            return index
        if has_episode_after and _is_weak_label(part):
            return index
    return None


def _episode(show_parts: list[str], season: str | None, episode_parts: list[str]) -> ParsedTitle:
    return ParsedTitle(
        kind="episode",
        show=": ".join(show_parts),
        season=season,
        episode=": ".join(episode_parts) or None,
    )


def parse_title(raw: str, series: Collection[str] = frozenset()) -> ParsedTitle:
    """Parse one Netflix title (rules in the module docstring).

    `series` holds show keys (`normalize_title`) the history proves are series, as made
    by `series_names`; it only changes how a two-part `A: B` title without a season
    label is read. Raises `TitleError` when the title names no show.
    """
    parts = split_title(raw)
    show = parts[0]
    if not any(ch.isalnum() for ch in show):
        text = clean_whitespace(raw)
        raise TitleError(f"title {text[:80]!r} has no show name" if text else "empty title")
    if tuple(parts[:2]) == _PLACEHOLDER:
        raise TitleError(f"title {clean_whitespace(raw)[:80]!r} is Netflix's unfilled template row")

    season_at = _season_index(parts)
    if season_at is not None:
        return _episode(parts[:season_at], parts[season_at], parts[season_at + 1 :])
    if len(parts) >= 3:
        return _episode(parts[:1], parts[1], parts[2:])
    if len(parts) == 2 and (
        _EPISODE_LABEL.fullmatch(parts[1]) or normalize_title(show) in series
    ):
        return _episode(parts[:1], None, parts[1:])
    return ParsedTitle(kind="movie", show=": ".join(parts), season=None, episode=None)


def series_names(raws: Iterable[str]) -> frozenset[str]:
    """Show keys a whole history proves are series, for `parse_title(raw, series)`.

    A name is a series when some title parses as its episode on its own (a season or
    episode label), or when two or more different `NAME: ...` two-part titles were
    watched (`Tiger King: Syrjäytetty`, `Tiger King: Salaisuus`). The second rule also
    groups a comedian's specials (`John Mulaney: New in Town`, `John Mulaney: The
    Comeback Kid`) as one show: the price of catching unlabelled docu-series.
    Unusable titles are skipped here (the caller reports them)."""
    labelled: set[str] = set()
    subtitles: defaultdict[str, set[str]] = defaultdict(set)
    for raw in raws:
        try:
            parsed = parse_title(raw)
        except TitleError:
            continue
        if parsed.kind == "episode":
            labelled.add(normalize_title(parsed.show))
            continue
        parts = split_title(raw)
        if len(parts) == 2:
            subtitles[normalize_title(parts[0])].add(normalize_title(parts[1]))
    repeated = {key for key, seen in subtitles.items() if len(seen) >= 2}
    return frozenset(key for key in labelled | repeated if key)
