"""Rotten Tomatoes crawler: search page -> the TV series that matches -> its scores.
Politely rate limited (the deployment-wide budget, tvreport.upstream_budgets) with an honest User-Agent."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import httpx

from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError
from tvreport.clients.http import RetryPolicy, Upstream, check_status, shared_http_client
from tvreport.clients.rt_parser import RtScores, RtSearchResult, read_scores_page, read_search_page
from tvreport.observability import logger
from tvreport.text import loose_title, normalize_title

SERVICE = "rottentomatoes"
TIMEOUT_S = 15.0


def choose_series(
    title: str,
    first_air_year: int | None,
    cast: list[str],
    results: list[RtSearchResult],
) -> RtSearchResult | None:
    """The TV series (never a movie of the same name) whose title matches; among
    several, an exact title beats one matched without its article, then the most
    shared cast, then the closest start year."""
    wanted_exact, wanted_loose = normalize_title(title), loose_title(title)
    if not wanted_loose:
        return None
    wanted_cast = {normalize_title(name) for name in cast if name.strip()}
    ranked = []
    for result in results:
        if result.media_type != "tv":
            continue
        if normalize_title(result.title) == wanted_exact:
            tier = 0
        elif loose_title(result.title) == wanted_loose:
            tier = 1
        else:
            continue
        overlap = len(wanted_cast & {normalize_title(name) for name in result.cast})
        ranked.append(((tier, -overlap, _year_distance(result.year, first_air_year)), result))
    if not ranked:
        return None
    return min(ranked, key=lambda pair: pair[0])[1]


def _year_distance(found: int | None, wanted: int | None) -> int:
    if wanted is None:
        return 0
    return abs(found - wanted) if found is not None else 100


def _html(response: httpx.Response) -> str:
    check_status(SERVICE, response)
    return response.text


def _unrecognized(response: httpx.Response) -> RetryableUpstreamError:
    # A 200 that is not the page asked for (a bot challenge, a redesign) is a failed
    # fetch, never "not found": retried, and never cached over what we know.
    return RetryableUpstreamError(f"unrecognized page on {response.request.url.path}", service=SERVICE,
                                  status=response.status_code, code="unrecognized_page")


def _search_results(response: httpx.Response) -> list[RtSearchResult]:
    results = read_search_page(_html(response))
    if results is None:
        raise _unrecognized(response)
    return results


def _scores(response: httpx.Response) -> RtScores:
    scores = read_scores_page(_html(response))
    if scores is None:
        raise _unrecognized(response)
    return scores


class RottenTomatoesClient:
    def __init__(self, base_url: str, http: httpx.Client | None = None, retry: RetryPolicy | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._upstream = Upstream(SERVICE, http or shared_http_client(SERVICE, "", TIMEOUT_S), retry)

    def search(self, query: str) -> list[RtSearchResult]:
        return self._upstream.call("GET", f"{self._base_url}/search", _search_results, params={"search": query})

    def scores(self, url_or_path: str) -> RtScores:
        """Scores of a page. Only the configured host is crawled: an absolute link from
        a search page is followed by its path."""
        url = self.page_url(url_or_path)
        return replace(self._upstream.call("GET", url, _scores), url=url)

    def find_scores(self, title: str, first_air_year: int | None, cast: list[str]) -> RtScores | None:
        """None when no series matches (or its page is gone); otherwise its scores,
        possibly empty (a series without a score yet is normal)."""
        match = choose_series(title, first_air_year, cast, self.search(title))
        if match is None:
            logger.info("rt series not found", extra={"year": first_air_year})  # no title: personal data
            return None
        try:
            return self.scores(match.url)
        except PermanentUpstreamError as exc:
            if exc.status in (404, 410):
                return None
            raise

    def page_url(self, url_or_path: str) -> str:
        path = urlsplit(url_or_path).path or "/"
        return f"{self._base_url}{path if path.startswith('/') else '/' + path}"
