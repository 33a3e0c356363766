"""Each outside service's request budget for the whole deployment, which stages spend
it, and how far apart its shared slots are. Every process of every calling function
reserves its requests' slots from one bucket item per service (tvreport.budget_bucket),
so the budget holds however many processes run and however busy each is. Pure (the
synth reads it)."""
from __future__ import annotations

from collections.abc import Mapping

from tvreport.schema import STAGES

# Requests per second for the whole deployment; None = not limited by us. A deployment
# replaces any of them with the `upstream_rate_limits` context (stacks/config.py).
DEPLOYMENT_BUDGETS: dict[str, float | None] = {
    "tmdb": 40,  # TMDB's documented ceiling is ~50 req/s per IP
    "rottentomatoes": 5,  # polite crawling
    "gandalf": None,
    "openai": None,
}

# How late (seconds) a request may arrive after its slot and the budget still hold in
# every sliding one-second window: slots are (1 + margin) / budget apart, so budget + 1
# of them span 1 + margin s. It covers the sleep's overshoot, GIL hand-overs at both
# ends, the network's jitter and the hosts' clock skew (NTP-synced hosts are within a
# few ms). Measured locally (heavy, 642 requests): up to 10 ms from the slot to the
# send and up to 37 ms from the send to the request line being read, so 50 ms was
# exceeded now and then (6 in a second); 100 ms costs 10 % of the budget (5/s ->
# 4.55/s effective). A slot taken more than half of it late is dropped unused.
SLOT_MARGIN_S = 0.1

# The functions (lambdas/<directory>) that call each service: the stages whose
# registry entry names it as their upstream.
CALLERS: dict[str, tuple[str, ...]] = {
    service: tuple(spec.folder for spec in STAGES.values() if spec.upstream == service)
    for service in DEPLOYMENT_BUDGETS
}


def budgets(overrides: Mapping[str, float | None] | None = None) -> dict[str, float | None]:
    """The deployment's budgets: the defaults with a deployment's overrides."""
    return {**DEPLOYMENT_BUDGETS, **(overrides or {})}


def slot_spacing(budget: float) -> float:
    """Seconds between two slots of a service, deployment-wide."""
    return (1 + SLOT_MARGIN_S) / budget


def budgeted_callers(overrides: Mapping[str, float | None] | None = None) -> dict[str, dict[str, float]]:
    """{directory: {service: deployment budget}} for every function that calls a service
    with a budget: what the stack hands each one (and grants the bucket table to)."""
    spenders: dict[str, dict[str, float]] = {}
    for service, budget in budgets(overrides).items():
        if budget is None:
            continue
        for directory in CALLERS.get(service, ()):
            spenders.setdefault(directory, {})[service] = budget
    return spenders
