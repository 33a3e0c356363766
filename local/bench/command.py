"""The `bench` subcommand: options, and the figures as a rich table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from local.bench import DEFAULT_LATENCY_MS, SCENARIOS


def add_parser(commands: Any) -> None:
    bench = commands.add_parser("bench", help="measure sessions against their lower bound (docs/BENCHMARKS.md)")
    bench.add_argument(
        "--scenario", action="append", choices=SCENARIOS, dest="scenarios", help="repeatable; default all"
    )
    for service, ms in DEFAULT_LATENCY_MS.items():
        bench.add_argument(f"--{service}-ms", type=int, default=ms, help=f"fixed latency per {service} request")
    bench.add_argument(
        "--rate-limits",
        type=_rate_limits,
        default=None,
        metavar="JSON",
        help='requests/s budget per service, e.g. {"tmdb": 40, "rottentomatoes": 5} '
        "(services not named keep the deployed clients' limits)",
    )
    bench.add_argument("--concurrency", type=int, default=2, help="the engine's pollers per queue at most")
    bench.add_argument("--chunk-size", type=int, default=None, help="shows per chunk (stack default 50)")
    bench.add_argument("--threshold", type=int, default=None, help="readiness threshold, percent")
    bench.add_argument("--import-runs", type=int, default=5, help="fresh interpreters per handler (0: skip)")
    bench.add_argument("--concurrent-sessions", type=int, default=10, help="heavy sessions of `concurrent`")
    bench.add_argument(
        "--scale-activities",
        type=int,
        default=102_000,
        help="plays generated for scale-100k and fairness (about 2%% fewer arrive: rewatches)",
    )
    bench.add_argument("--scale-shows", type=int, default=5_000, help="distinct generated shows of that history")
    bench.add_argument("--timeout-s", type=float, default=None,
                       help="per scenario (default 1800 s; scale-100k 7200 s)")
    bench.add_argument(
        "--cold-workers",
        action="store_true",
        help="leave worker processes to start on first use (default: started before the sessions)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON only")


def _rate_limits(text: str) -> dict[str, float | None]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from error
    if not isinstance(value, dict) or not all(
        v is None or (isinstance(v, (int, float)) and v > 0) for v in value.values()
    ):
        raise argparse.ArgumentTypeError('expected {"service": positive number or null, ...}')
    return value


def options_from(args: argparse.Namespace) -> Any:
    from local.bench.run import BenchOptions

    return BenchOptions(
        scenarios=args.scenarios or SCENARIOS,
        latency_ms={service: getattr(args, f"{service}_ms") for service in DEFAULT_LATENCY_MS},
        rate_limits=args.rate_limits,
        concurrency=args.concurrency,
        chunk_size=args.chunk_size,
        threshold=args.threshold,
        import_runs=args.import_runs,
        timeout_s=args.timeout_s,
        concurrent_sessions=args.concurrent_sessions,
        scale_activities=args.scale_activities,
        scale_shows=args.scale_shows,
        warm_workers=not args.cold_workers,
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from local.bench.run import run_bench

    stderr = Console(stderr=True)
    figures = run_bench(options_from(args), on_line=lambda line: stderr.print(f"[dim]{line}[/]"))
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        print_tables(Console(), figures)
    completed = all(s["state"] == "COMPLETED" for s in figures["scenarios"].values())
    return 0 if completed else 1


def print_tables(console: Any, figures: dict[str, Any]) -> None:
    from rich.table import Table

    scenarios = figures["scenarios"]
    main = Table(title="sessions against their lower bound")
    for column in (
        "scenario",
        "state",
        "shows/chunks",
        "e2e s",
        "bound s",
        "ratio",
        "trigger p50/p95 s",
        "calls G/T/RT",
        "peak rps G/T/RT (budget)",
        "max timeout share",
        "peak RSS MB",
        "$ / 1000",
    ):
        main.add_column(column, justify="right" if column not in ("scenario", "state") else "left")
    measured = {name: s for name, s in scenarios.items() if "e2e_s" in s}
    for name, s in scenarios.items():
        if name not in measured:  # timed out, or not run after one that did
            main.add_row(name, s["state"], *[""] * 10)
            console.print(f"[yellow]{name}: {s['state']}: {s.get('error', '')}[/]")
            continue
        budget = s["budget_rps"]
        main.add_row(
            name,
            s["state"],
            f"{s['shows']}/{s['chunks']}",
            f"{s['e2e_s']}",
            f"{s['bound_s']}",
            f"{s['ratio']}",
            f"{s['trigger_latency_p50_s']}/{s['trigger_latency_p95_s']}",
            "/".join(str(s["upstream_calls"][k]) for k in ("gandalf", "tmdb", "rottentomatoes")),
            " / ".join(f"{s['peak_rps'][k]} ({budget.get(k) or '-'})" for k in ("gandalf", "tmdb", "rottentomatoes")),
            f"{s['max_timeout_share']:.3f}",
            f"{s['peak_rss_mb']}",
            f"{s['cost_per_1000_usd']:.3f}",
        )
    console.print(main)
    for name, s in measured.items():
        table = Table(title=f"{name}: per function (stage wall from first start to last end)")
        for column in ("function", "invocations", "billed ms", "GB-s", "peak RSS MB", "max timeout share", "wall s"):
            table.add_column(column, justify="left" if column == "function" else "right")
        for function, f in s["functions"].items():
            table.add_row(
                function,
                str(f["invocations"]),
                str(f["billed_ms"]),
                f"{f['gb_s']}",
                f"{f['peak_rss_mb']}",
                f"{f['max_timeout_share']:.3f}",
                f"{s['stage_wall_s'].get(function, '')}",
            )
        console.print(table)
        console.print(
            f"  DynamoDB {s['dynamodb']['read_units']} RRU / {s['dynamodb']['write_units']} WRU; "
            f"SQS {s['sqs_requests']} requests; API {s['api_requests']}; "
            f"Secrets Manager {s['secrets_manager_calls']}; logs {s['log_bytes']} B; "
            f"bound: chain {s['bound']['chain_s']} s, budgets {s['bound']['budget_s']}"
        )
        if "vs_solo" in s:
            console.print(
                f"  fairness: light took {s['e2e_s']} s beside the big session ({s['beside']['state']}), "
                f"{s['solo_e2e_s']} s alone: {s['vs_solo']}x"
            )
    if figures["import_s"]:
        imports = Table(title="handler import, fresh interpreter (median s)")
        imports.add_column("module")
        imports.add_column("s", justify="right")
        imports.add_column("x floor", justify="right")
        for name, seconds in figures["import_s"].items():
            imports.add_row(name, f"{seconds}", f"{figures['import_vs_floor'].get(name, 1.0)}")
        console.print(imports)
    console.print(f"prices: AWS us-east-1 list prices as of {figures['prices']['as_of']} (not checked online)")
