"""Rotten Tomatoes page parsing (pure). Pages change without notice: every reader
is defensive and unknown markup never raises. "No score" (a real page that has none)
is a normal outcome; a page with none of the known markup (a bot challenge, a
redesign) is told apart (`read_search_page` / `read_scores_page` return None), so
the client can treat it as a failed fetch rather than as "not found"."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from tvreport.clients.http import record_metric
from tvreport.observability import logger
from tvreport.records import RtScores as RtScores  # re-exported: a domain record, parsed here

_DIGITS = re.compile(r"\d[\d,]*")
_GROUP_MEDIA_TYPES = {"tvseries": "tv", "tv": "tv", "movie": "movie", "movies": "movie"}


@dataclass
class RtSearchResult:
    title: str
    url: str  # as the page gives it (usually absolute)
    media_type: str | None = None  # "tv" | "movie" | None when the page does not say
    release_year: int | None = None  # movies
    start_year: int | None = None  # series
    end_year: int | None = None
    tomatometer_score: int | None = None
    tomatometer_state: str | None = None  # e.g. POSITIVE / NEGATIVE
    certified: bool | None = None
    cast: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def year(self) -> int | None:
        return self.start_year or self.release_year


def to_int(value: Any) -> int | None:
    """`"94"`, `94`, `"94%"`, `"10,000+ Ratings"` -> int; empty or unreadable -> None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    match = _DIGITS.search(str(value))
    return int(match.group().replace(",", "")) if match else None


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


# ---- search page -------------------------------------------------------------


# What every search page we know carries, results or not.
_SEARCH_PAGE_MARKERS = ("search-page-media-row", "search-page-result", "search-page-header",
                        '[data-qa="search-no-results"]')


def read_search_page(html: str) -> list[RtSearchResult] | None:
    """The rows of a search page; [] for a search page without results; None for a
    page that is not a search page we recognize."""
    tree = LexborHTMLParser(html)
    if not any(tree.css_first(marker) is not None for marker in _SEARCH_PAGE_MARKERS):
        record_metric("RtMarkupUnknown")
        logger.warning("rt search page without any known search markup")
        return None
    results = []
    for row in tree.css("search-page-media-row"):
        result = _parse_search_row(row)
        if result is not None:
            results.append(result)
    return results


def _parse_search_row(row: LexborNode) -> RtSearchResult | None:
    link = row.css_first('a[slot="title"]') or row.css_first('a[data-qa="info-name"]')
    if link is None:
        link = next((a for a in row.css("a[href]") if a.text(strip=True)), None)
    if link is None or not link.attributes.get("href"):
        return None
    url = link.attributes["href"] or ""
    cast = _attr(row, "cast") or ""
    return RtSearchResult(
        title=" ".join(link.text().split()),
        url=url,
        media_type=_group_media_type(row) or _path_media_type(url),
        release_year=to_int(_attr(row, "release-year", "releaseyear")),
        start_year=to_int(_attr(row, "start-year", "startyear")),
        end_year=to_int(_attr(row, "end-year", "endyear")),
        tomatometer_score=to_int(_attr(row, "tomatometer-score", "tomatometerscore")),
        tomatometer_state=_attr(row, "tomatometer-sentiment", "tomatometer-state", "tomatometerstate") or None,
        certified=to_bool(_attr(row, "tomatometer-is-certified", "tomatometeriscertified")),
        cast=[name.strip() for name in cast.split(",") if name.strip()],
    )


def _attr(node: LexborNode, *names: str) -> str | None:
    """The first attribute present under any of its spellings."""
    attributes = node.attributes
    for name in names:
        if name in attributes:
            return attributes[name]
    return None


def _group_media_type(row: LexborNode) -> str | None:
    node = row.parent
    while node is not None:
        if node.tag == "search-page-result":
            return _GROUP_MEDIA_TYPES.get((node.attributes.get("type") or "").lower())
        node = node.parent
    return None


def _path_media_type(url: str) -> str | None:
    path = urlsplit(url).path
    if path.startswith("/tv/"):
        return "tv"
    if path.startswith("/m/"):
        return "movie"
    return None


# ---- scores page -------------------------------------------------------------


def read_scores_page(html: str) -> RtScores | None:
    """The scores of a page (possibly none, a normal outcome); None when the page has
    none of the known score markup, i.e. is not a show page we recognize."""
    scores, sources = read_scores_with_sources(html)
    return scores if sources else None


def read_scores_with_sources(html: str) -> tuple[RtScores, list[str]]:
    """Scores merged field by field from every source found, most trusted first:
    the scorecard JSON, the scorecard element, JSON-LD. Also returns the sources."""
    tree = LexborHTMLParser(html)
    merged = RtScores()
    found: list[str] = []
    for name, reader in (
        ("media-scorecard-json", _scores_from_scorecard_json),
        ("scorecard-element", _scores_from_scorecard_element),
        ("json-ld", _scores_from_json_ld),
    ):
        try:
            partial = reader(tree)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            logger.info("rt markup source unreadable", extra={"source": name, "error": type(exc).__name__})
            partial = None
        if partial is None:
            continue
        found.append(name)
        merged = replace(merged, **{f.name: getattr(partial, f.name) for f in fields(RtScores)
                                    if getattr(merged, f.name) is None})
    if not found:
        record_metric("RtMarkupUnknown")
        logger.warning("rt page without any known score markup")
    return merged, found


def _scores_from_scorecard_json(tree: LexborHTMLParser) -> RtScores | None:
    script = tree.css_first("script#media-scorecard-json")
    if script is None:
        return None
    data = json.loads(script.text() or "{}")
    if not isinstance(data, dict):
        raise ValueError("scorecard JSON is not an object")
    critics = data.get("criticsScore") or {}
    audience = {} if data.get("hideAudienceScore") else (data.get("audienceScore") or {})
    return RtScores(
        critics_score=to_int(critics.get("score")),
        critics_reviews=to_int(_first_present(critics, "reviewCount", "ratingCount")),
        certified=to_bool(critics.get("certified")),
        audience_score=to_int(audience.get("score")),
        audience_reviews=to_int(_first_present(audience, "reviewCount", "ratingCount", "bandedRatingCount")),
    )


def _scores_from_scorecard_element(tree: LexborHTMLParser) -> RtScores | None:
    """`<media-scorecard>` with rt-text/rt-link slots (2023+), or the older
    `<score-board>` carrying the scores as attributes."""
    card = tree.css_first("media-scorecard")
    if card is not None:
        critics_icon = card.css_first("score-icon-critics")
        return RtScores(
            critics_score=to_int(_slot_text(card, "criticsScore")),
            critics_reviews=to_int(_slot_text(card, "criticsReviews")),
            audience_score=to_int(_slot_text(card, "audienceScore")),
            audience_reviews=to_int(_slot_text(card, "audienceReviews")),
            certified=to_bool(critics_icon.attributes.get("certified")) if critics_icon is not None else None,
        )
    board = tree.css_first("score-board") or tree.css_first("score-board-deprecated")
    if board is not None:
        state = (_attr(board, "tomatometerstate", "tomatometer-state") or "").lower()
        return RtScores(
            critics_score=to_int(_attr(board, "tomatometerscore", "tomatometer-score")),
            audience_score=to_int(_attr(board, "audiencescore", "audience-score")),
            certified=("certified" in state) if state else None,
        )
    return None


def _slot_text(card: LexborNode, slot: str) -> str | None:
    node = card.css_first(f'[slot="{slot}"]')
    return node.text(strip=True) if node is not None else None


def _scores_from_json_ld(tree: LexborHTMLParser) -> RtScores | None:
    found_any = False
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            document = json.loads(script.text() or "null")
        except ValueError:
            continue
        found_any = True
        for item in _json_ld_items(document):
            rating = item.get("aggregateRating")
            if isinstance(rating, dict):
                return RtScores(
                    critics_score=to_int(rating.get("ratingValue")),
                    critics_reviews=to_int(_first_present(rating, "ratingCount", "reviewCount")),
                )
    return RtScores() if found_any else None


def _json_ld_items(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, list):
        return [item for entry in document for item in _json_ld_items(entry)]
    if isinstance(document, dict):
        return [document, *_json_ld_items(document.get("@graph") or [])]
    return []


def _first_present(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) not in (None, ""):
            return mapping[key]
    return None
