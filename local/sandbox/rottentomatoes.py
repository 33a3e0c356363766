"""Rotten Tomatoes sandbox: the search page and TV pages in the real 2026 markup.

Search rows are `search-page-media-row` elements with hyphenated attributes inside
`search-page-result` groups (`movie`, `tvSeries`); a TV page carries its scores in a
`media-scorecard-json` script and a JSON-LD `aggregateRating`, as the real pages do."""
from __future__ import annotations

import json
from html import escape

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.sandbox.catalogue import Catalogue, Movie, RottenTomatoesEntry, Show
from local.sandbox.faults import Faults
from local.sandbox.server import SandboxServer
from tvreport.text import normalize_title

SITE = "https://www.rottentomatoes.com"
MAX_ROWS_PER_GROUP = 10
FRESH_THRESHOLD = 60


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def _sentiment(score: int) -> str:
    return "POSITIVE" if score >= FRESH_THRESHOLD else "NEGATIVE"


def _tomatometer_state(rating: RottenTomatoesEntry) -> str:
    if rating.certified:
        return "certified-fresh"
    return "fresh" if rating.critics_score >= FRESH_THRESHOLD else "rotten"


def _page(title: str, body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title>{head}</head>\n<body>\n{body}\n</body></html>\n"
    )


def _tv_row(show: Show, rating: RottenTomatoesEntry) -> str:
    end_year = show.first_air_year + len(show.seasons) - 1
    attributes = {
        "skeleton": "panel",
        "cast": ",".join(member.name for member in show.cast[:3]),
        "data-qa": "data-row",
        "end-year": str(end_year),
        "release-year": "",
        "start-year": str(show.first_air_year),
        "tomatometer-is-certified": "true" if rating.certified else "false",
        "tomatometer-score": str(rating.critics_score),
        "tomatometer-sentiment": _sentiment(rating.critics_score),
        "tomatometer-state": _tomatometer_state(rating),
    }
    return _row(attributes, f"{SITE}/tv/{rating.slug}", show.title)


def _movie_row(movie: Movie, slug: str) -> str:
    attributes = {
        "skeleton": "panel",
        "cast": "",
        "data-qa": "data-row",
        "end-year": "",
        "release-year": str(movie.year),
        "start-year": "",
        "tomatometer-is-certified": "false",
        "tomatometer-score": "",
        "tomatometer-sentiment": "",
        "tomatometer-state": "",
    }
    return _row(attributes, f"{SITE}/m/{slug}", movie.title)


def _row(attributes: dict[str, str], href: str, title: str) -> str:
    attribute_text = "\n    ".join(f'{name}="{escape(value)}"' for name, value in attributes.items())
    return (
        f"<search-page-media-row\n    {attribute_text}\n>\n"
        f'  <a href="{escape(href)}" class="unset" data-qa="thumbnail-link" slot="thumbnail">'
        f'<img alt="{escape(title)}" loading="lazy" src=""></a>\n'
        f'  <a href="{escape(href)}" class="unset" data-qa="info-name" slot="title">\n    {escape(title)}\n  </a>\n'
        "</search-page-media-row>"
    )


def _group(kind: str, rows: list[str]) -> str:
    return (
        f'<search-page-result data-qa="search-result" type="{kind}">\n'
        f'<h2 data-qa="search-result-title" slot="title">{"TV Shows" if kind == "tvSeries" else "Movies"}</h2>\n'
        '<ul slot="list">\n' + "\n".join(rows) + "\n</ul>\n</search-page-result>"
    )


def scorecard(show: Show, rating: RottenTomatoesEntry) -> dict:
    """The `media-scorecard-json` payload (scores are strings, as on the real page)."""
    slug_path = f"/tv/{rating.slug}"
    liked = round(rating.critics_reviews * rating.critics_score / 100)
    return {
        "audienceScore": {
            "bandedRatingCount": "1,000+ Ratings",
            "certified": False,
            "reviewsPageUrl": f"{slug_path}/reviews?type=user",
            "score": str(rating.audience_score),
            "scorePercent": f"{rating.audience_score}%",
            "scoreType": "ALL",
            "sentiment": _sentiment(rating.audience_score),
            "title": "Popcornmeter",
        },
        "criticsScore": {
            "certified": rating.certified,
            "likedCount": liked,
            "notLikedCount": rating.critics_reviews - liked,
            "ratingCount": rating.critics_reviews,
            "reviewCount": rating.critics_reviews,
            "reviewsPageUrl": f"{slug_path}/reviews",
            "score": str(rating.critics_score),
            "scorePercent": f"{rating.critics_score}%",
            "sentiment": _sentiment(rating.critics_score),
            "title": "Tomatometer",
        },
        "description": show.overview,
        "hideAudienceScore": False,
        "mediaType": "TvSeries",
    }


def json_ld(show: Show, rating: RottenTomatoesEntry) -> dict:
    return {
        "@context": "http://schema.org",
        "@type": "TVSeries",
        "name": show.title,
        "startDate": str(show.first_air_year),
        "url": f"{SITE}/tv/{rating.slug}",
        "actor": [{"@type": "Person", "name": member.name} for member in show.cast],
        "aggregateRating": {
            "@type": "AggregateRating",
            "bestRating": "100",
            "name": "Tomatometer",
            "ratingCount": rating.critics_reviews,
            "ratingValue": str(rating.critics_score),
            "reviewCount": rating.critics_reviews,
            "worstRating": "0",
        },
    }


def _script_json(payload: dict) -> str:
    # "</" must not close the script element early.
    return json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")


class RottenTomatoesSandbox(SandboxServer):
    service = "rottentomatoes"
    url_map = Map(
        [
            Rule("/search", endpoint="search", methods=["GET"]),
            Rule("/tv/<slug>", endpoint="tv_page", methods=["GET"], strict_slashes=False),
        ]
    )

    def __init__(self, catalogue: Catalogue, faults: Faults | None = None) -> None:
        super().__init__(faults)
        self.catalogue = catalogue
        self._rated = [show for show in catalogue.shows if show.rotten_tomatoes]

    def error_response(self, status: int) -> Response:
        return _html(_page(f"{status} Error", f"<h1>{status}</h1><p>Something went wrong.</p>"), status=status)

    def not_found_response(self, request: Request) -> Response:
        return _html(_page("404 - Not Found | Rotten Tomatoes", "<h1>404 - Not Found</h1>"), status=404)

    def search(self, request: Request) -> Response:
        raw_query = request.args.get("search", "")
        query = normalize_title(raw_query)
        shows = [
            show
            for show in self._rated
            if query and any(query in normalize_title(name) for name in filter(None, (show.title, show.original_title)))
        ]
        shows.sort(key=lambda show: show.popularity, reverse=True)
        movies = [movie for movie in self.catalogue.movies if query and query in normalize_title(movie.title)]
        groups = []
        if movies:
            groups.append(
                _group("movie", [_movie_row(movie, normalize_title(movie.title).replace(" ", "_"))
                                 for movie in movies[:MAX_ROWS_PER_GROUP]])
            )
        if shows:
            rows = [_tv_row(show, show.rotten_tomatoes) for show in shows[:MAX_ROWS_PER_GROUP]]  # type: ignore[arg-type]
            groups.append(_group("tvSeries", rows))
        body = "\n".join(groups) or '<p data-qa="search-no-results">Sorry, no results found for this search.</p>'
        header = f'<search-page-header search-term="{escape(raw_query)}"></search-page-header>\n'
        return _html(_page(f"Search Results for \u201c{raw_query}\u201d | Rotten Tomatoes", header + body))

    def tv_page(self, request: Request, slug: str) -> Response:
        show = self.catalogue.by_rt_slug.get(slug)
        if show is None or show.rotten_tomatoes is None:
            return self.not_found_response(request)
        rating = show.rotten_tomatoes
        head = f'<script type="application/ld+json">{_script_json(json_ld(show, rating))}</script>'
        body = (
            f'<h1 slot="titleIntro" data-qa="score-panel-title">{escape(show.title)}</h1>\n'
            '<script id="media-scorecard-json" data-json="mediaScorecard" type="application/json">\n'
            f"{_script_json(scorecard(show, rating))}\n</script>\n"
            f'<p data-qa="series-info-description">{escape(show.overview)}</p>'
        )
        return _html(_page(f"{show.title} | Rotten Tomatoes", body, head))
