"""Each outside service's request budget for the whole deployment, and which stages
spend it. The stack divides a budget by its callers' maximum concurrency at synth and
gives each function its share (env UPSTREAM_RATE_LIMITS), so every process together
stays within the budget without a shared counter. Pure (the synth reads it)."""
from __future__ import annotations

from collections.abc import Mapping

from tvreport.schema import STAGES

# Requests per second for the whole deployment; None = not limited by us.
DEPLOYMENT_BUDGETS: dict[str, float | None] = {
    "tmdb": 40,  # TMDB's documented ceiling is ~50 req/s per IP
    "rottentomatoes": 5,  # polite crawling
    "gandalf": None,
    "openai": None,
}

# The functions (lambdas/<directory>) that call each service: the stages whose
# registry entry names it as their upstream.
CALLERS: dict[str, tuple[str, ...]] = {
    service: tuple(spec.folder for spec in STAGES.values() if spec.upstream == service)
    for service in DEPLOYMENT_BUDGETS
}


def per_process_shares(budgets: Mapping[str, float | None],
                       max_concurrency: Mapping[str, int]) -> dict[str, dict[str, float | None]]:
    """{directory: {service: requests/s for one process}}: a service's budget divided by
    the summed maximum concurrency of the stages that call it."""
    shares: dict[str, dict[str, float | None]] = {}
    for service, callers in CALLERS.items():
        budget = budgets.get(service, DEPLOYMENT_BUDGETS.get(service))
        processes = sum(max_concurrency[directory] for directory in callers)
        for directory in callers:
            shares.setdefault(directory, {})[service] = None if budget is None else round(budget / processes, 6)
    return shares
