"""Run bench scenarios on LocalSystem and gather their figures (see local/bench/__init__)."""

from __future__ import annotations

import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from local.bench import DEFAULT_LATENCY_MS, SCENARIOS
from local.bench.bound import BoundInputs, lower_bound, peak_rps
from local.bench.cost import (
    LAMBDA_REPORT_LINE_BYTES,
    PRICES_AS_OF,
    PRICES_USD,
    session_cost,
)
from local.bench.edge_log import EdgeLog
from local.bench.imports import import_times, stage_name
from tvreport.stages.crawl_rotten_tomatoes import RT_PARALLELISM
from tvreport.stages.query_show_data import SHOW_PARALLELISM

UPSTREAMS = ("gandalf", "tmdb", "rottentomatoes")
CONCURRENT_SESSIONS = 10
# Shows resolved at once inside a chunk, as the stages deploy them.
IN_CHUNK_PARALLELISM = {"query_show_data": SHOW_PARALLELISM, "crawl_rotten_tomatoes": RT_PARALLELISM}
PAGE_CONCURRENCY = 4  # tvreport.stages.query_activities.ActivitiesDeps.concurrency
DEFAULT_TIMEOUT_S = 1800.0
# scale-100k's Rotten Tomatoes floor alone is 2,000 s (5,000 shows); it took 2,973 s here
# once, so the shared default would record it TIMED_OUT every time.
SCALE_TIMEOUT_S = 7200.0


@dataclass(frozen=True)
class BenchOptions:
    scenarios: Sequence[str] = SCENARIOS
    latency_ms: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LATENCY_MS))
    rate_limits: Mapping[str, float | None] | None = None  # None: the deployed defaults (tvreport.upstream_budgets)
    concurrency: int = 2  # the local engine's pollers per queue at most
    chunk_size: int | None = None
    threshold: int | None = None
    import_runs: int = 5
    timeout_s: float | None = None  # per scenario; None: timeout_for's defaults
    concurrent_sessions: int = CONCURRENT_SESSIONS
    scale_activities: int = 102_000  # about 100,000 after the generator's rewatch share
    scale_shows: int = 5_000
    # Worker processes started before the first session: a local cold start (seconds on
    # a loaded machine) is not Lambda's; import_s measures cold starts on their own.
    warm_workers: bool = True

    def timeout_for(self, scenario: str) -> float:
        """How long a scenario's sessions may take before it is recorded TIMED_OUT."""
        if self.timeout_s is not None:
            return self.timeout_s
        return SCALE_TIMEOUT_S if scenario == "scale-100k" else DEFAULT_TIMEOUT_S


def deployed_rate_limits() -> dict[str, float | None]:
    from tvreport.upstream_budgets import budgets

    return {service: budgets().get(service) for service in UPSTREAMS}


def run_bench(options: BenchOptions, on_line: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """{"options", "prices", "import_s", "scenarios": {name: figures}}."""
    from local.system import LocalSystem, ServiceFaults, SystemOptions

    rate_limits = {**deployed_rate_limits(), **(options.rate_limits or {})}  # unnamed services keep theirs
    wanted = [name for name in SCENARIOS if name in options.scenarios]
    results: dict[str, Any] = {}
    imports: dict[str, float] = {}
    histories = _ScaleHistories(options) if {"scale-100k", "fairness"} & set(wanted) else None

    def system_for(viewer: str, catalogue: Any) -> Any:
        faults = {service: ServiceFaults(latency_ms=options.latency_ms.get(service, 0)) for service in UPSTREAMS}
        return LocalSystem(
            SystemOptions(
                viewer=viewer,
                faults=faults,
                upstream_rate_limits=rate_limits,
                concurrency=options.concurrency,
                chunk_size=options.chunk_size,
                threshold=options.threshold,
                openai_api_key="",
                catalogue=catalogue,
            )
        )

    for viewer, scaled, names in _plan(wanted):  # start_moto empties moto's account each time
        on_line(f"starting a local system for {', '.join(names)}")
        with system_for(viewer, histories.catalogue if scaled and histories else None) as system:
            edge = EdgeLog()
            system.aws.hostile.observers.append(edge)
            if options.warm_workers:
                system.engine.warm_workers()
            for name in names:
                try:
                    figures = _scenario(name, system, edge, viewer, options, rate_limits, histories, results, on_line)
                except TimeoutError as error:
                    # Recorded with where the session stood. This system's later scenarios
                    # would run beside the unfinished session, so they are not run.
                    results[name] = {"state": "TIMED_OUT", "error": str(error)}
                    for later in names[names.index(name) + 1:]:
                        results[later] = {"state": "NOT_RUN", "error": f"{name} timed out on the same system"}
                    on_line(f"{name}: timed out: {error}")
                    break
                if not name.endswith(")"):  # "(warm-up)" and "(solo)" runs are inputs, not results
                    results[name] = figures
                on_line(f"{name}: {figures['state']} in {figures['e2e_s']} s (bound {figures['bound_s']} s)")
            if not imports and options.import_runs > 0:
                on_line(f"import times: {options.import_runs} fresh interpreters per handler")
                imports = import_times(
                    system.stack.functions.values(),
                    system.engine.base_env,
                    options.import_runs,
                    system.run_dir / "logs",
                )
    floor = imports.get("floor")
    return {
        "options": {
            "scenarios": wanted,
            "latency_ms": dict(options.latency_ms),
            "budget_rps": rate_limits,
            "engine_concurrency": options.concurrency,
            "in_chunk_parallelism": IN_CHUNK_PARALLELISM,
            "page_concurrency": PAGE_CONCURRENCY,
            "import_runs": options.import_runs,
            "warm_workers": options.warm_workers,
        },
        "prices": {"as_of": PRICES_AS_OF, "usd": PRICES_USD},
        "import_s": imports,
        "import_vs_floor": {name: round(s / floor, 2) for name, s in imports.items() if floor and name != "floor"},
        "scenarios": results,
    }


def _plan(wanted: list[str]) -> list[tuple[str, bool, list[str]]]:
    """(viewer, with the generated shows, scenarios in order) per fresh LocalSystem.
    Every cold scenario gets its own system, so no show cache is shared by accident."""
    plan: list[tuple[str, bool, list[str]]] = []
    for name in wanted:
        if name == "heavy-warm":
            if plan and plan[-1][2][-1] == "heavy":
                plan[-1][2].append(name)
            else:
                plan.append(("heavy", False, ["heavy(warm-up)", name]))
        elif name == "concurrent":
            plan.append(("heavy", False, [name]))
        elif name == "scale-100k":
            plan.append(("light", True, [name]))
        elif name == "fairness":  # light's solo time and light beside the big one, each on a fresh system
            plan.extend([("light", True, ["light(solo)"]), ("light", True, [name])])
        else:
            plan.append((name, False, [name]))
    return plan


class _ScaleHistories:
    """The generated shows and the two histories of scale-100k and fairness: the big
    one from generated shows only, light's from the bundled ones (no shared cache)."""

    def __init__(self, options: BenchOptions) -> None:
        from datetime import date

        from local.sandbox import build_viewer, default_catalogue
        from local.sandbox.synthetic import with_synthetic_shows
        from local.sandbox.viewers import ViewerProfile

        self.catalogue, generated = with_synthetic_shows(default_catalogue(), options.scale_shows)
        profile = ViewerProfile(
            "scale-100k", activities=options.scale_activities, shows=options.scale_shows, movies=50, seed=404
        )
        self.big = build_viewer(profile, date.today(), generated)
        self.light = build_viewer("light", date.today(), default_catalogue())


def _scenario(
    name: str,
    system: Any,
    edge: EdgeLog,
    viewer: str,
    options: BenchOptions,
    rate_limits: Mapping[str, float | None],
    histories: _ScaleHistories | None,
    results: dict[str, Any],
    on_line: Callable[[str], None],
) -> dict[str, Any]:
    timeout_s = options.timeout_for(name)

    def run(starters: Sequence[Callable[[], str]], settle: bool = True) -> dict[str, Any]:
        return measure(system, edge, starters, options, rate_limits, timeout_s, settle=settle, on_line=on_line)

    if name == "scale-100k":
        assert histories is not None
        return run([lambda: system.start_session(activities=histories.big)])
    if name == "light(solo)":
        assert histories is not None
        figures = run([lambda: system.start_session(activities=histories.light)])
        results["_light_solo_e2e_s"] = figures["e2e_s"]
        return figures
    if name == "fairness":
        assert histories is not None
        big = system.start_session(activities=histories.big)
        _wait_enrichment_started(system, timeout_s)
        figures = run([lambda: system.start_session(activities=histories.light)], settle=False)
        solo = results.pop("_light_solo_e2e_s", None)
        big_state = system.get_session(big)
        # Cancelled, its chunks stop before their next show, so the system stops soon after.
        httpx.post(f"{system.api_url}/sessions/{big}/cancel", timeout=60)
        figures.update(
            {
                "solo_e2e_s": solo,
                "vs_solo": round(figures["e2e_s"] / solo, 2) if solo else None,
                "beside": {"state": big_state.get("state"), "counters": big_state.get("counters")},
            }
        )
        return figures
    sessions = options.concurrent_sessions if name == "concurrent" else 1
    return run([lambda: system.start_session(viewer=viewer)] * sessions)


def _wait_enrichment_started(system: Any, timeout_s: float) -> None:
    """Until the big session's chunks are being resolved (a queryShowData invocation ran)."""
    deadline = time.monotonic() + timeout_s
    while not any(
        stage_name(system.stack.functions[r["function"]]) == "QueryShowData" for r in list(system.engine.invocations)
    ):
        if time.monotonic() > deadline:
            raise TimeoutError("the big session never reached its show data stage")
        time.sleep(0.5)


def measure(
    system: Any,
    edge: EdgeLog,
    starters: Sequence[Callable[[], str]],
    options: BenchOptions,
    rate_limits: Mapping[str, float | None],
    timeout_s: float,
    settle: bool = True,
    on_line: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """The figures of the sessions `starters` start, over the window from the first
    start to the last finish (plus the engine going idle, with `settle`)."""
    sessions = len(starters)
    engine, sandbox = system.engine, system.sandbox
    started_mono, started_wall = time.monotonic(), time.time()
    first_invocation = len(engine.invocations)
    api_before = system.api.requests
    logs_before = _log_bytes(system.run_dir / "logs")
    session_started: dict[str, float] = {}
    for start in starters:
        before = time.monotonic()
        session_started[start()] = before
    finished = _wait_all(system, list(session_started), timeout_s, on_line)
    if settle:
        engine.wait_idle(timeout_s=60, settle_s=1.0)  # trailing tracker and watchdog work is the session's cost
    ended_mono, ended_wall = time.monotonic(), time.time()

    documents = {sid: doc for sid, (doc, _) in finished.items()}
    e2e = {sid: round(at - session_started[sid], 2) for sid, (_, at) in finished.items()}
    counters = [doc.get("counters") or {} for doc in documents.values()]
    shows = sum(int(c.get("totalShows") or 0) for c in counters)
    chunks = sum(int(c.get("totalChunks") or 0) for c in counters)
    calls = {
        service: [t for t in sandbox.servers[service].arrival_times() if started_mono <= t <= ended_mono]
        for service in UPSTREAMS
    }
    call_counts = {service: len(times) for service, times in calls.items()}
    call_counts["openai"] = 0  # not sandboxed; without a key the AI stages use their rules

    concurrency = _stage_concurrency(system, options.concurrency)
    bound = lower_bound(
        BoundInputs(
            latency_s={service: ms / 1000 for service, ms in options.latency_ms.items()},
            calls=call_counts,
            budget_rps=rate_limits,
            shows=shows,
            chunks=chunks,
            sessions=sessions,
            page_concurrency=PAGE_CONCURRENCY,
            show_data_concurrency=concurrency.get("QueryShowData", 1),
            rt_concurrency=concurrency.get("CrawlRottenTomatoes", 1),
            show_data_parallelism=SHOW_PARALLELISM,
            rt_parallelism=RT_PARALLELISM,
        )
    )
    invocations = engine.invocations[first_invocation:]
    functions = _per_function(system, invocations)
    events = edge.window(started_wall, ended_wall)
    latencies = sorted(edge.trigger_latencies(set(documents)))
    slowest = max(e2e.values()) if e2e else None
    usage = {
        "invocations": sum(f["invocations"] for f in functions.values()),
        "gb_s": sum(f["gb_s"] for f in functions.values()),
        "sqs_requests": sum(e.sqs_requests for e in events if e.service == "sqs"),
        "read_units": sum(e.read_units for e in events),
        "write_units": sum(e.write_units for e in events),
        "api_requests": system.api.requests - api_before,
        "secrets_calls": sum(1 for e in events if e.service == "secretsmanager" and e.from_function),
        "log_bytes": _log_bytes(system.run_dir / "logs") - logs_before + LAMBDA_REPORT_LINE_BYTES * len(invocations),
    }
    states = {doc.get("state") for doc in documents.values()}
    return {
        "sessions": sessions,
        "state": states.pop() if len(states) == 1 else "MIXED",
        "shows": shows,
        "chunks": chunks,
        "activities": sum(int(c.get("activities") or 0) for c in counters),
        "e2e_s": slowest,
        "e2e_s_per_session": sorted(e2e.values()),
        "bound_s": bound["bound_s"],
        "bound": bound,
        "ratio": round(slowest / bound["bound_s"], 2) if slowest and bound["bound_s"] else None,
        "stage_wall_s": _stage_walls(invocations, system),
        "trigger_latency_p50_s": _percentile(latencies, 50),
        "trigger_latency_p95_s": _percentile(latencies, 95),
        "trigger_latencies": len(latencies),
        "upstream_calls": call_counts,
        "peak_rps": {service: peak_rps(times) for service, times in calls.items()},
        "budget_rps": dict(rate_limits),
        "dynamodb": {
            "read_units": round(usage["read_units"], 1),
            "write_units": round(usage["write_units"], 1),
            "requests": _count_by_operation(e for e in events if e.service == "dynamodb" and e.from_function),
        },
        "budget_bucket": _bucket_figures(system, events, call_counts, rate_limits),
        "sqs_requests": usage["sqs_requests"],
        "api_requests": usage["api_requests"],
        "secrets_manager_calls": usage["secrets_calls"],
        "log_bytes": usage["log_bytes"],
        "functions": functions,
        "max_timeout_share": max((f["max_timeout_share"] for f in functions.values()), default=0.0),
        "peak_rss_mb": max((f["peak_rss_mb"] for f in functions.values()), default=0.0),
        "cost_per_1000_usd": session_cost(usage, sessions, "x86_64")["total"],
        "cost_per_1000_usd_arm64": session_cost(usage, sessions, "arm64")["total"],
        "cost_per_1000_by_line_usd": session_cost(usage, sessions, "x86_64"),
        "measured_s": round(ended_mono - started_mono, 2),
    }


def _wait_all(
    system: Any,
    session_ids: list[str],
    timeout_s: float,
    on_line: Callable[[str], None] = lambda line: None,
    poll_s: float = 0.5,
    report_every_s: float = 60,
) -> dict[str, tuple[dict, float]]:
    """{session: (final document, time.monotonic() it was first seen finished)}.
    Every `report_every_s`, and in the timeout's message, the unfinished sessions'
    progress, so a run that does not finish still says where it stands."""
    from local.system import FINISHED_STATES

    started = time.monotonic()
    deadline, next_report = started + timeout_s, started + report_every_s
    finished: dict[str, tuple[dict, float]] = {}
    latest: dict[str, dict] = {}
    while len(finished) < len(session_ids):
        for session_id in session_ids:
            if session_id in finished:
                continue
            try:
                document = system.get_session(session_id)
            except httpx.HTTPError:  # a transient API error: poll again
                continue
            latest[session_id] = document
            if document.get("state") in FINISHED_STATES:
                finished[session_id] = (document, time.monotonic())
        now = time.monotonic()
        unfinished = [latest[s] for s in session_ids if s not in finished and s in latest]
        if now > deadline:
            raise TimeoutError(
                f"{len(session_ids) - len(finished)} sessions unfinished after {timeout_s:.0f} s; "
                + "; ".join(_progress_line(d) for d in unfinished[:3])
            )
        if now >= next_report and unfinished:
            next_report = now + report_every_s
            done = f"{len(finished)}/{len(session_ids)} finished"
            on_line(f"{now - started:.0f} s: {done}; {_progress_line(unfinished[0])}")
        if len(finished) < len(session_ids):
            time.sleep(poll_s)
    return finished


def _progress_line(document: Mapping[str, Any]) -> str:
    """A session's state, each stage's percent and shows done, and its counters, in
    one line (ids and figures only: nothing personal)."""
    stages = document.get("stages") or {}
    counters = document.get("counters") or {}
    parts = [str(document.get("state"))]
    for label, figures in stages.items():
        shows = f" {figures['showsDone']}+{figures.get('showsFailed') or 0}f" if "showsDone" in figures else ""
        parts.append(f"{label}={figures.get('percent')}%{shows}")
    parts.extend(f"{name}={value}" for name, value in counters.items() if value is not None)
    return " ".join(parts)


def _bucket_figures(system: Any, events: list[Any], calls: Mapping[str, int],
                   rate_limits: Mapping[str, float | None]) -> dict[str, Any]:
    """The slot bucket's DynamoDB writes (tvreport.budget_bucket): every reserve and
    push, failed conditions included (they are billed too), per budgeted upstream call."""
    table = system.stack.outputs.get("UpstreamBudgetsTableName")
    mine = [e for e in events if e.service == "dynamodb" and e.table == table and table]
    writes = len(mine)
    budgeted = sum(n for service, n in calls.items() if rate_limits.get(service))
    return {
        "writes": writes,
        "failed_conditions": sum(1 for e in mine if e.failed),
        "write_units": round(sum(e.write_units for e in mine), 1),
        "budgeted_calls": budgeted,
        "writes_per_call": round(writes / budgeted, 3) if budgeted else None,
    }


def _stage_concurrency(system: Any, cap: int) -> dict[str, int]:
    """Deployed maximum concurrency per SQS-fed stage, as the local engine runs it."""
    figures: dict[str, int] = {}
    for mapping in system.stack.mappings:
        if mapping.source_kind != "sqs":
            continue
        function = system.stack.functions[mapping.function_logical_id]
        figures[stage_name(function)] = max(1, min(mapping.max_concurrency or cap, cap))
    return figures


def _per_function(system: Any, invocations: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by_function: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in invocations:
        by_function[record["function"]].append(record)
    figures = {}
    for logical_id, records in sorted(by_function.items()):
        function = system.stack.functions[logical_id]
        billed_ms = sum(math.ceil(r["duration_ms"]) for r in records)
        figures[stage_name(function)] = {
            "invocations": len(records),
            "failures": sum(1 for r in records if not r["ok"]),
            "billed_ms": billed_ms,
            "memory_mb": function.memory_mb,
            "gb_s": round(billed_ms / 1000 * function.memory_mb / 1024, 3),
            "peak_rss_mb": round(max(r["max_rss_kb"] for r in records) / 1024, 1),
            "max_timeout_share": round(max(r["duration_ms"] / 1000 / r["timeout_s"] for r in records), 4),
        }
    return figures


def _stage_walls(invocations: list[dict[str, Any]], system: Any) -> dict[str, float]:
    """First invocation start to last invocation end, per function."""
    spans: dict[str, list[float]] = {}
    for record in invocations:
        name = stage_name(system.stack.functions[record["function"]])
        span = spans.setdefault(name, [record["started"], record["ended"]])
        span[0], span[1] = min(span[0], record["started"]), max(span[1], record["ended"])
    return {name: round(end - start, 2) for name, (start, end) in sorted(spans.items())}


def _count_by_operation(events: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        counts[event.operation] += 1
    return dict(sorted(counts.items()))


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[percent - 1], 3)


def _log_bytes(log_dir: Path) -> int:
    """Bytes the functions logged (the runner's own log excluded)."""
    return sum(path.stat().st_size for path in log_dir.glob("*.log") if path.name != "runner.log")
