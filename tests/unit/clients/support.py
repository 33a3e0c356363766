"""Helpers for the client tests: real-world fixtures, scripted HTTP transports that
count calls, a sleep that records waits, metric readers."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.fixtures import REAL_FIXTURES
from tvreport.clients.rt_parser import RtScores, RtSearchResult, read_scores_with_sources, read_search_page
from tvreport.observability import metrics

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def real_text(relative: str) -> str:
    return (REAL_FIXTURES / relative).read_text(encoding="utf-8")


def real_json(relative: str) -> Any:
    return json.loads(real_text(relative))


def parse_search_page(html: str) -> list[RtSearchResult]:
    """A page's search rows, [] for any page that has none (the crawler's reader
    tells "not a search page" apart, as None)."""
    return read_search_page(html) or []


def parse_scores_page(html: str) -> RtScores:
    """A page's scores, empty for a page without score markup."""
    return read_scores_with_sources(html)[0]


class RecordedSleep:
    """Stands in for time.sleep: remembers every wait asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class ScriptedTransport(httpx.MockTransport):
    """Answers request N with replies[N] (the last reply repeats); an Exception
    reply is raised as a transport failure. Keeps every request it saw."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        super().__init__(self._answer)

    @property
    def calls(self) -> int:
        return len(self.requests)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply


def metric_count(name: str) -> float:
    """Sum of the values recorded for a metric since the test started."""
    return sum((metrics.metric_set.get(name) or {}).get("Value", []))


# ---- Gandalf -------------------------------------------------------------------

GANDALF_ENDPOINT = "https://sauron.test/public/gql"
GANDALF_PRIVATE_KEY_HEX = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
GANDALF_README = "gandalf/gandalf-sdk-python_README_13dcbe58.md"


def readme_sample_response() -> dict:
    """The getActivity response the SDK README prints, rebuilt as the JSON wire shape."""
    text = real_text(GANDALF_README)
    sample = text[text.index("eye.get_activity(") : text.index("asyncio.run(main())")]
    identifiers = re.findall(r"value='([^']+)',\s*identifier_type=<IdentifierType\.(\w+)", sample)
    return {
        "data": {
            "getActivity": {
                "data": [
                    {
                        "id": re.search(r"id='([^']+)'", sample).group(1),
                        "metadata": {
                            "__typename": re.search(r"typename__='(NetflixActivityMetadata)'", sample).group(1),
                            "title": re.search(r'title="([^"]+)"', sample).group(1),
                            "date": re.search(r"last_played_at='([^']+)'", sample).group(1),
                            "subject": [{"value": v, "identifierType": t} for v, t in identifiers],
                        },
                    }
                ],
                "limit": int(re.search(r"limit=(\d+)", sample).group(1)),
                "total": int(re.search(r"total=(\d+)", sample).group(1)),
                "page": int(re.search(r"page=(\d+)\s+typename__='ActivityResponse'", sample).group(1)),
            }
        }
    }


def graphql_error(code: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": None, "errors": [{"message": code, "extensions": {"code": code}}]})
