"""Helpers for the client tests: real-world fixtures, scripted HTTP transports that
count calls, a sleep that records waits, metric readers."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tvreport.observability import metrics

REAL_FIXTURES = (Path(__file__).resolve().parents[3] / "../shared/fixtures/real").resolve()

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def real_text(relative: str) -> str:
    return (REAL_FIXTURES / relative).read_text(encoding="utf-8")


def real_json(relative: str) -> Any:
    return json.loads(real_text(relative))


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
