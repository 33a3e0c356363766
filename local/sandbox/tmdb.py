"""TMDB sandbox: /3/search/tv, /3/tv/{id} (+ aggregate_credits, external_ids),
/3/find/{imdb_id}, answering in TMDB v3's JSON shapes from the catalogue."""
from __future__ import annotations

import hmac
import json
import math
import zlib

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.sandbox.catalogue import TMDB_GENRE_IDS, Catalogue, Show
from local.sandbox.faults import Faults
from local.sandbox.server import SandboxServer
from tvreport.text import normalize_title

PAGE_SIZE = 20  # TMDB's fixed page size
UNSCRIPTED_TYPES = {"Reality": "Reality", "Documentary": "Documentary", "Talk": "Talk Show", "News": "News"}


def _json(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def _status(status: int, code: int, message: str) -> Response:
    return _json({"success": False, "status_code": code, "status_message": message}, status=status)


def _person_id(name: str) -> int:
    return 1_000_000 + zlib.crc32(name.encode()) % 4_000_000


def _vote_average(show: Show) -> float:
    rating = show.rotten_tomatoes
    return round(rating.audience_score / 10 * 0.9, 3) if rating else 6.5


def search_result(show: Show) -> dict:
    """One entry of /3/search/tv and /3/find tv_results."""
    return {
        "adult": False,
        "backdrop_path": None,
        "genre_ids": [TMDB_GENRE_IDS[genre] for genre in show.genres],
        "id": show.tmdb_id,
        "origin_country": [],
        "original_language": "en",
        "original_name": show.original_title or show.title,
        "overview": show.overview,
        "popularity": show.popularity,
        "poster_path": show.poster_path,
        "first_air_date": show.first_air_date,
        "name": show.title,
        "vote_average": _vote_average(show),
        "vote_count": max(1, int(show.popularity * 37)),
    }


def aggregate_credits(show: Show) -> dict:
    return {
        "cast": [
            {
                "adult": False,
                "gender": 0,
                "id": _person_id(member.name),
                "known_for_department": "Acting",
                "name": member.name,
                "original_name": member.name,
                "popularity": round(show.popularity / (order + 2), 3),
                "profile_path": None,
                "roles": [
                    {
                        "credit_id": f"{show.tmdb_id:x}{order:04x}",
                        "character": member.character,
                        "episode_count": member.episodes,
                    }
                ],
                "total_episode_count": member.episodes,
                "order": order,
            }
            for order, member in enumerate(show.cast)
        ],
        "crew": [],
        "id": show.tmdb_id,
    }


def external_ids(show: Show) -> dict:
    return {
        "id": show.tmdb_id,
        "imdb_id": show.imdb_id,
        "freebase_mid": None,
        "freebase_id": None,
        "tvdb_id": int(show.tvdb_id),
        "tvrage_id": None,
        "wikidata_id": None,
        "facebook_id": None,
        "instagram_id": None,
        "twitter_id": None,
    }


def tv_details(show: Show) -> dict:
    last_season_year = show.first_air_year + len(show.seasons) - 1
    show_type = next((UNSCRIPTED_TYPES[g] for g in show.genres if g in UNSCRIPTED_TYPES), "Scripted")
    return {
        "adult": False,
        "backdrop_path": None,
        "created_by": [],
        "episode_run_time": [],
        "first_air_date": show.first_air_date,
        "genres": [{"id": TMDB_GENRE_IDS[genre], "name": genre} for genre in show.genres],
        "homepage": "",
        "id": show.tmdb_id,
        "in_production": False,
        "languages": [],
        "last_air_date": f"{last_season_year}-06-15",
        "name": show.title,
        "networks": [],
        "number_of_episodes": show.number_of_episodes,
        "number_of_seasons": len(show.seasons),
        "origin_country": [],
        "original_language": "en",
        "original_name": show.original_title or show.title,
        "overview": show.overview,
        "popularity": show.popularity,
        "poster_path": show.poster_path,
        "production_companies": [],
        "seasons": [
            {
                "air_date": f"{show.first_air_year + index}-01-15",
                "episode_count": count,
                "id": show.tmdb_id * 100 + index + 1,
                "name": f"Season {index + 1}",
                "overview": "",
                "poster_path": None,
                "season_number": index + 1,
                "vote_average": 0.0,
            }
            for index, count in enumerate(show.seasons)
        ],
        "status": "Ended",
        "tagline": "",
        "type": show_type,
        "vote_average": _vote_average(show),
        "vote_count": max(1, int(show.popularity * 37)),
    }


class TmdbSandbox(SandboxServer):
    service = "tmdb"
    url_map = Map(
        [
            Rule("/3/search/tv", endpoint="search_tv", methods=["GET"]),
            Rule("/3/tv/<int:tv_id>", endpoint="tv", methods=["GET"]),
            Rule("/3/tv/<int:tv_id>/aggregate_credits", endpoint="tv_aggregate_credits", methods=["GET"]),
            Rule("/3/tv/<int:tv_id>/external_ids", endpoint="tv_external_ids", methods=["GET"]),
            Rule("/3/find/<external_id>", endpoint="find", methods=["GET"]),
        ]
    )

    def __init__(self, catalogue: Catalogue, faults: Faults | None = None, api_key: str = "sandbox-tmdb-key") -> None:
        super().__init__(faults)
        self.catalogue = catalogue
        self._api_key = api_key
        # Shows TMDB "does not have": never searched, found or served.
        self._listed = [show for show in catalogue.shows if not show.tmdb_missing]
        self._by_id = {show.tmdb_id: show for show in self._listed}

    # -- protocol ----------------------------------------------------------------
    def error_response(self, status: int) -> Response:
        if status == 503:
            return _status(503, 9, "Service offline: This service is temporarily offline, try again later.")
        return _status(500, 11, "Internal error: Something went wrong, contact TMDB.")

    def rate_limited_response(self) -> Response:
        response = _status(429, 25, "Your request count (#) is over the allowed limit of (40).")
        response.headers["Retry-After"] = str(self.faults.retry_after_s)
        return response

    def not_found_response(self, request: Request) -> Response:
        return _status(404, 34, "The resource you requested could not be found.")

    def _authorized(self, request: Request) -> bool:
        bearer = request.headers.get("Authorization", "")
        supplied = request.args.get("api_key") or (bearer[7:] if bearer.startswith("Bearer ") else "")
        return bool(supplied) and hmac.compare_digest(supplied.encode(), self._api_key.encode())

    def _unauthorized(self) -> Response:
        return _status(401, 7, "Invalid API key: You must be granted a valid key.")

    # -- endpoints ----------------------------------------------------------------
    def search_tv(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        query = normalize_title(request.args.get("query", ""))
        year = request.args.get("first_air_date_year") or request.args.get("year")
        page = request.args.get("page", 1, type=int) or 1
        matches = []
        if query:
            matches = [
                show
                for show in self._listed
                if any(query in normalize_title(name) for name in filter(None, (show.title, show.original_title)))
                and (not year or str(show.first_air_year) == year)
            ]
        matches.sort(key=lambda show: show.popularity, reverse=True)
        start = (page - 1) * PAGE_SIZE
        return _json(
            {
                "page": page,
                "results": [search_result(show) for show in matches[start : start + PAGE_SIZE]],
                "total_pages": max(1, math.ceil(len(matches) / PAGE_SIZE)) if matches else 1,
                "total_results": len(matches),
            }
        )

    def tv(self, request: Request, tv_id: int) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        show = self._by_id.get(tv_id)
        if show is None:
            return self.not_found_response(request)
        details = tv_details(show)
        appended = {part.strip() for part in request.args.get("append_to_response", "").split(",")}
        if "aggregate_credits" in appended:
            details["aggregate_credits"] = {key: value for key, value in aggregate_credits(show).items() if key != "id"}
        if "external_ids" in appended:
            details["external_ids"] = {key: value for key, value in external_ids(show).items() if key != "id"}
        return _json(details)

    def tv_aggregate_credits(self, request: Request, tv_id: int) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        show = self._by_id.get(tv_id)
        return _json(aggregate_credits(show)) if show else self.not_found_response(request)

    def tv_external_ids(self, request: Request, tv_id: int) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        show = self._by_id.get(tv_id)
        return _json(external_ids(show)) if show else self.not_found_response(request)

    def find(self, request: Request, external_id: str) -> Response:
        if not self._authorized(request):
            return self._unauthorized()
        if request.args.get("external_source") != "imdb_id":
            return _status(400, 5, "Invalid parameters: Your request parameters are incorrect.")
        show = self.catalogue.by_imdb_id.get(external_id)
        tv_results = [search_result(show)] if show and show.tmdb_id in self._by_id else []
        return _json(
            {
                "movie_results": [],
                "person_results": [],
                "tv_results": tv_results,
                "tv_episode_results": [],
                "tv_season_results": [],
            }
        )
