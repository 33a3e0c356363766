"""A session's lower bound from its own run's configuration (docs/BENCHMARKS.md).

(a) the longest chain of dependent upstream calls at the deployed concurrency:

    gandalf = Lg * (1 + ceil((pages - 1) / page_concurrency))   # page 1 says how many
    Tq = ceil(n / p) * (tmdb_calls / shows) * Lt                # one chunk's show data
    Tr = ceil(n / p) * (rt_calls / shows) * Lr                  # one chunk's RT crawl
    pipeline = max(ceil(C / mq) * Tq + Tr, Tq + ceil(C / mr) * Tr)
    chain = gandalf + pipeline + Lo * (openai_calls > 0)

with n = shows / C (a chunk's shows), p the shows resolved at once inside a chunk
(1 on main: a chunk's shows go one after another, each show's calls in a row), mq /
mr the stages' deployed maximum concurrency (capped by the local engine's pollers),
and each upstream call's fixed injected latency L. The two enrichment stages form a
two-stage pipeline of C equal jobs; its makespan is at least either expression.

(b) per service: calls / budget (requests per second for the whole deployment).

bound = max(a, every b)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BoundInputs:
    latency_s: Mapping[str, float]  # gandalf | tmdb | rottentomatoes | openai
    calls: Mapping[str, int]
    budget_rps: Mapping[str, float | None]
    shows: int
    chunks: int
    page_concurrency: int
    show_data_concurrency: int
    rt_concurrency: int
    show_data_parallelism: int = 1  # shows resolved at once inside a chunk
    rt_parallelism: int = 1  # shows crawled at once inside a chunk
    sessions: int = 1  # sessions run at once: their page chains run side by side


def lower_bound(inputs: BoundInputs) -> dict[str, Any]:  # figures in s; "budget_s" per service
    """{"chain_s", "budget_s" per service, "bound_s"}."""
    latency, calls = inputs.latency_s, inputs.calls
    pages = math.ceil(calls.get("gandalf", 0) / max(1, inputs.sessions))  # one session's pages
    gandalf = (
        latency.get("gandalf", 0) * (1 + math.ceil(max(0, pages - 1) / max(1, inputs.page_concurrency)))
        if pages
        else 0.0
    )
    chunks = max(1, inputs.chunks)

    def per_chunk(parallelism: int) -> int:  # round trips in a row per chunk
        return math.ceil(inputs.shows / chunks / max(1, parallelism)) if inputs.shows else 0

    def per_show(service: str) -> float:
        return calls.get(service, 0) / inputs.shows if inputs.shows else 0.0

    t_q = per_chunk(inputs.show_data_parallelism) * per_show("tmdb") * latency.get("tmdb", 0)
    t_r = per_chunk(inputs.rt_parallelism) * per_show("rottentomatoes") * latency.get("rottentomatoes", 0)
    waves_q = math.ceil(chunks / max(1, inputs.show_data_concurrency))
    waves_r = math.ceil(chunks / max(1, inputs.rt_concurrency))
    pipeline = max(waves_q * t_q + t_r, t_q + waves_r * t_r) if inputs.shows else 0.0
    ai = latency.get("openai", 0) if calls.get("openai", 0) else 0.0
    chain = gandalf + pipeline + ai
    budget = {service: calls.get(service, 0) / rps for service, rps in inputs.budget_rps.items() if rps}
    return {
        "chain_s": round(chain, 3),
        "gandalf_chain_s": round(gandalf, 3),
        "pipeline_s": round(pipeline, 3),
        "budget_s": {service: round(seconds, 3) for service, seconds in budget.items()},
        "bound_s": round(max([chain, *budget.values()]), 3),
    }


def peak_rps(arrivals: list[float], window_s: float = 1.0) -> int:
    """The most requests that arrived within any `window_s`-long window."""
    times = sorted(arrivals)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best
