"""TMDB v3 client: exact match by IMDB id, search + best match, details with cast."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError
from tvreport.clients.http import RetryPolicy, Upstream, check_status, shared_http_client
from tvreport.records import CachedShow, CastMember
from tvreport.text import loose_title, normalize_title

SERVICE = "tmdb"
TIMEOUT_S = 10.0
TOP_CAST = 10


@dataclass
class TvSearchResult:
    id: int
    name: str
    original_name: str = ""
    first_air_year: int | None = None
    popularity: float = 0.0
    origin_country: list[str] = field(default_factory=list)
    overview: str = ""
    poster_path: str | None = None


def year_of(date_text: str | None) -> int | None:
    """`2011-04-17` -> 2011; empty or malformed -> None."""
    if date_text and len(date_text) >= 4 and date_text[:4].isdigit():
        return int(date_text[:4])
    return None


def parse_search_results(payload: dict[str, Any]) -> list[TvSearchResult]:
    results = []
    for item in payload.get("results") or []:
        if not isinstance(item, dict) or item.get("id") is None:
            continue
        results.append(
            TvSearchResult(
                id=int(item["id"]),
                name=str(item.get("name") or item.get("original_name") or ""),
                original_name=str(item.get("original_name") or ""),
                first_air_year=year_of(item.get("first_air_date")),
                popularity=float(item.get("popularity") or 0.0),
                origin_country=list(item.get("origin_country") or []),
                overview=str(item.get("overview") or ""),
                poster_path=item.get("poster_path"),
            )
        )
    return results


def choose_best_match(title: str, results: list[TvSearchResult], year: int | None = None) -> TvSearchResult | None:
    """The result whose name (or original name) is the title, normalized; among
    several, the closest first-air year when a year is given, then the most popular.
    No title match -> None: an unrelated show is worse than none."""
    # Exact first; articles ignored only as a fallback; scripts normalize_title drops
    # entirely (CJK: "ルパン三世" -> "") compared case-folded as a last resort.
    for fold in (normalize_title, loose_title, unicode_fold):
        wanted = fold(title)
        candidates = [r for r in results if wanted and wanted in (fold(r.name), fold(r.original_name))]
        if candidates:
            return min(candidates, key=lambda r: (_year_distance(r, year), -r.popularity))
    return None


def unicode_fold(title: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def _year_distance(result: TvSearchResult, year: int | None) -> int:
    if year is None:
        return 0
    return abs(result.first_air_year - year) if result.first_air_year is not None else 10_000


def parse_tv_details(payload: dict[str, Any]) -> CachedShow:
    """`/3/tv/{id}` (with or without appended aggregate_credits/external_ids)."""
    external_ids = payload.get("external_ids") or {}
    return CachedShow(
        tmdb_id=int(payload["id"]),
        name=str(payload.get("name") or payload.get("original_name") or ""),
        first_air_year=year_of(payload.get("first_air_date")),
        genres=[str(g["name"]) for g in payload.get("genres") or [] if isinstance(g, dict) and g.get("name")],
        number_of_episodes=payload.get("number_of_episodes"),
        overview=str(payload.get("overview") or ""),
        poster_path=payload.get("poster_path"),
        popularity=float(payload["popularity"]) if payload.get("popularity") is not None else None,
        imdb_id=external_ids.get("imdb_id") or payload.get("imdb_id") or None,
        cast=parse_cast(payload),
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def parse_cast(payload: dict[str, Any], limit: int = TOP_CAST) -> list[CastMember]:
    """Top cast with characters: from aggregate credits when appended, else from
    the plain `credits`, else none."""
    if payload.get("aggregate_credits"):
        return parse_aggregate_cast(payload["aggregate_credits"], limit)
    plain = (payload.get("credits") or {}).get("cast") or []
    ranked = sorted((c for c in plain if isinstance(c, dict) and c.get("name")), key=lambda c: c.get("order", 10_000))
    return [CastMember(name=c["name"], character=str(c.get("character") or "")) for c in ranked[:limit]]


def parse_aggregate_cast(credits: dict[str, Any], limit: int = TOP_CAST) -> list[CastMember]:
    """An aggregate-credits object (every season) -> top cast, ranked by episodes
    and then billing order: its `order` alone is unreliable (Lupin's lead has 500)."""
    ranked = sorted(
        (c for c in credits.get("cast") or [] if isinstance(c, dict) and c.get("name")),
        key=lambda c: (-(c.get("total_episode_count") or 0), c.get("order", 10_000)),
    )
    return [
        CastMember(name=c["name"], character=_main_character(c), episodes=int(c.get("total_episode_count") or 0))
        for c in ranked[:limit]
    ]


def _main_character(credit: dict[str, Any]) -> str:
    roles = [r for r in credit.get("roles") or [] if isinstance(r, dict) and r.get("character")]
    if not roles:
        return str(credit.get("character") or "")
    return str(max(roles, key=lambda r: r.get("episode_count") or 0)["character"])


def _json(response: httpx.Response) -> dict[str, Any]:
    check_status(SERVICE, response)
    try:
        payload = response.json()
    except ValueError as exc:
        raise RetryableUpstreamError("body is not JSON", service=SERVICE, status=response.status_code) from exc
    if not isinstance(payload, dict):
        raise RetryableUpstreamError("body is not a JSON object", service=SERVICE, status=response.status_code)
    return payload


class TmdbClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        http: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        # A v4 read token is a JWT (starts "eyJ") and goes in a header; a v3 key in the query.
        if api_key.startswith("eyJ"):
            self._auth_headers, self._auth_params = {"Authorization": f"Bearer {api_key}"}, {}
        else:
            self._auth_headers, self._auth_params = {}, {"api_key": api_key}
        self._upstream = Upstream(SERVICE, http or shared_http_client(SERVICE, "", TIMEOUT_S), retry)

    def find_by_imdb(self, imdb_id: str) -> int | None:
        try:
            payload = self._get(f"/3/find/{imdb_id}", {"external_source": "imdb_id"})
        except PermanentUpstreamError as exc:
            if exc.status == 404:
                return None
            raise
        tv_results = payload.get("tv_results") or []
        return int(tv_results[0]["id"]) if tv_results and tv_results[0].get("id") is not None else None

    def search_tv(self, query: str, first_air_year: int | None = None) -> list[TvSearchResult]:
        params: dict[str, Any] = {"query": query, "include_adult": "false", "page": 1}
        if first_air_year is not None:
            params["first_air_date_year"] = first_air_year
        return parse_search_results(self._get("/3/search/tv", params))

    def tv_details(self, tv_id: int) -> CachedShow | None:
        try:
            payload = self._get(f"/3/tv/{tv_id}", {"append_to_response": "aggregate_credits,external_ids"})
        except PermanentUpstreamError as exc:
            if exc.status == 404:
                return None
            raise
        return parse_tv_details(payload)

    def lookup(self, title: str, imdb_id: str | None = None, year: int | None = None) -> CachedShow | None:
        """Exact by IMDB id when TMDB knows it; otherwise search and the best title match."""
        if imdb_id:
            tv_id = self.find_by_imdb(imdb_id)
            show = self.tv_details(tv_id) if tv_id is not None else None
            if show is not None:
                return show
        # The year only ranks candidates: as a search filter a wrong year would hide the show.
        best = choose_best_match(title, self.search_tv(title), year)
        return self.tv_details(best.id) if best is not None else None

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._upstream.call(
            "GET",
            f"{self._base_url}{path}",
            _json,
            params={**params, **self._auth_params},
            headers={"Accept": "application/json", **self._auth_headers},
        )
