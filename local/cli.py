"""The local runner's command line.

    python -m local run [--viewer light|typical|heavy] [--netflix-csv FILE] [--threshold 97]
                        [--latency-ms N] [--error-rate F] [--timeout-rate F]
                        [--duplicate-deliveries] [--race-duplicates]
                        [--aws-faults RATE|OP=RATE,...] [--lose-responses RATE|STAGE=RATE,...]
                        [--json] [--timeout-s 600]
    python -m local serve [same options] [--info-file PATH]
    python -m local bench [--scenario light|typical|heavy|heavy-warm|concurrent|scale-100k|fairness ...] [--json]
    python -m local inspect rottentomatoes FILE.html
    python -m local inspect netflix-csv FILE.csv

Exit codes: 0 COMPLETED, 1 FAILED, 2 timeout or usage error.
Imports stay light at module level: worker processes (spawn) re-import the main
module, and must not pay for the runner's dependencies.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_LAYER = PROJECT_ROOT / "layers" / "shared" / "python"
EXIT_COMPLETED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _ensure_import_paths() -> None:
    """No install step: the project root (stacks/, app.py, local/) and the shared
    layer (tvreport) are importable as they are in the tests."""
    for path in (str(SHARED_LAYER), str(PROJECT_ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one session end to end and print its report")
    _add_system_options(run)
    run.add_argument("--json", action="store_true", help="print only the final session document as JSON")
    run.add_argument("--timeout-s", type=float, default=600, help="give up after this long (exit 2)")

    serve = commands.add_parser("serve", help="keep the API and workers up until Ctrl-C")
    _add_system_options(serve)
    serve.add_argument("--info-file", type=Path,
                       help='write {"apiUrl", "awsEndpointUrl", "outputs", ...} as JSON here once up')

    from local.bench.command import add_parser as add_bench_parser

    add_bench_parser(commands)

    inspect = commands.add_parser("inspect", help="show what a parser reads from a file, as JSON")
    inspect.add_argument("kind", choices=["rottentomatoes", "netflix-csv"])
    inspect.add_argument("file", type=Path)
    return parser


def _add_system_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--viewer", choices=["light", "typical", "heavy"], default="typical")
    parser.add_argument("--netflix-csv", type=Path, help="a NetflixViewingHistory.csv export to run instead")
    parser.add_argument("--threshold", type=int, default=None,
                        help="stage readiness threshold, percent (stack default 97)")
    parser.add_argument("--chunk-size", type=int, default=None, help="shows per chunk (stack default 50)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every sandbox request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of sandbox requests answered 5xx")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of sandbox requests that hang")
    parser.add_argument("--rate-limit-every", type=int, default=0,
                        help="answer every Nth sandbox request 429 with Retry-After (0: never)")
    parser.add_argument("--duplicate-deliveries", action="store_true",
                        help="deliver every batch twice, the second after the first")
    parser.add_argument("--race-duplicates", action="store_true",
                        help="deliver every SQS and stream batch to two workers at the same moment "
                             "(SQS: deleted if either acknowledges; stream: retried if either fails)")
    parser.add_argument("--aws-faults", type=_fault_rates, default={}, metavar="RATE|OP=RATE,...",
                        help="AWS API faults for the functions' calls: RATE for DynamoDB's data plane and SQS "
                             "SendMessageBatch (TransactionCanceledException with TransactionConflict/ThrottlingError, "
                             "ThrottlingException, ProvisionedThroughputExceededException, InternalServerError, "
                             "partial Failed entries, 503), or per operation, e.g. "
                             "dynamodb:TransactWriteItems=0.3,sqs:SendMessageBatch=0.2")
    parser.add_argument("--lose-responses", type=_stage_rates, default={}, metavar="RATE|STAGE=RATE,...",
                        help="share of invocations whose handler finishes but whose response is lost (not "
                             "acknowledged; the batch comes back), for every stage or per stage, e.g. "
                             "progress_tracker=0.1,query_show_data=0.05")
    parser.add_argument("--seed", type=int, default=None, help="seed for the AWS fault and lost-response draws")
    parser.add_argument("--concurrency", type=int, default=2, help="pollers per queue at most")
    parser.add_argument("--run-dir", type=Path, help="keep cdk.out and logs here (default: a temporary dir)")


def _fault_rates(text: str) -> dict[str, float]:
    from local.aws_faults import parse_fault_rates

    try:
        return parse_fault_rates(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _stage_rates(text: str) -> dict[str, float]:
    """`0.1` -> every stage; `progress_tracker=0.1,tv_bff=0.5` -> those stages."""
    rates: dict[str, float] = {}
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        if len(parts) == 1 and "=" not in parts[0]:
            rates["*"] = float(parts[0])
        for part in parts if not rates else []:
            stage, sep, value = part.partition("=")
            if not sep or not stage.strip():
                raise ValueError(f"{part!r}: expected STAGE=RATE")
            rates[stage.strip()] = float(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    if not rates or not all(0.0 <= rate <= 1.0 for rate in rates.values()):
        raise argparse.ArgumentTypeError(f"{text!r}: rates between 0 and 1 expected")
    return rates


def main(argv: list[str] | None = None) -> int:
    _ensure_import_paths()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help
        return int(exit_.code or 0)
    _quiet_in_process_services()
    if args.command == "inspect":
        return _inspect(args)
    if args.command == "bench":
        from local.bench.command import run as run_bench

        return run_bench(args)
    if args.netflix_csv is not None and not args.netflix_csv.is_file():
        print(f"no such file: {args.netflix_csv}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        return _run(args)
    return _serve(args)


def _inspect(args: argparse.Namespace) -> int:
    from local.inspect_cmd import INSPECTORS

    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = INSPECTORS[args.kind](args.file)
    except ValueError as error:  # CsvFormatError and parser errors say what is wrong
        print(f"cannot read {args.file}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    return EXIT_COMPLETED


def _system_options(args: argparse.Namespace) -> Any:
    from local.system import ServiceFaults, SystemOptions

    knobs = ServiceFaults(latency_ms=args.latency_ms, error_rate=args.error_rate, timeout_rate=args.timeout_rate,
                          rate_limit_burst_every=args.rate_limit_every)
    faults = {} if knobs == ServiceFaults() else {s: knobs for s in ("gandalf", "tmdb", "rottentomatoes")}
    return SystemOptions(
        viewer=args.viewer,
        netflix_csv=args.netflix_csv,
        threshold=args.threshold,
        chunk_size=args.chunk_size,
        faults=faults,
        duplicate_deliveries=args.duplicate_deliveries,
        race_duplicates=args.race_duplicates,
        aws_faults=args.aws_faults,
        lose_responses=args.lose_responses,
        seed=args.seed,
        concurrency=args.concurrency,
        run_dir=args.run_dir,
    )


def _quiet_in_process_services() -> None:
    """tvreport and the sandbox servers log INFO through Powertools (to stdout);
    stdout is for `--json` and `inspect` output, stderr for the progress bars.
    Worker processes get their function's own environment, so handlers still log."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from local.progress_view import StageProgress, print_summary
    from local.system import LocalSystem

    stderr = Console(stderr=True)
    started = time.monotonic()
    try:
        system = LocalSystem(_system_options(args)).start()
    except Exception as error:  # synth, deploy or a service failed to start
        stderr.print(f"[red]the local system did not start: {type(error).__name__}: {error}[/]")
        return EXIT_USAGE
    with system:
        if not args.json:
            stderr.print(f"[dim]local system up in {time.monotonic() - started:.1f} s; API {system.api_url}[/]")
        session_id = system.start_session()
        session_started = time.monotonic()
        try:
            with StageProgress(stderr) as progress:
                session = system.wait_finished(session_id, timeout_s=args.timeout_s, on_progress=progress.update)
        except TimeoutError as error:
            stderr.print(f"[red]{error}[/]")
            return EXIT_USAGE
        report = system.get_report(session_id) if session.get("state") == "COMPLETED" else None
        run = _run_section(system, started, session_started)
    if args.json:
        print(json.dumps({**session, "report": report, "run": run}, indent=2, default=str))
    else:
        print_summary(Console(), session, report, run)
    return EXIT_COMPLETED if session.get("state") == "COMPLETED" else EXIT_FAILED


def _run_section(system: Any, started: float, session_started: float) -> dict[str, Any]:
    stats = system.stats()
    return {
        "wall_time_s": round(time.monotonic() - started, 2),
        "session_time_s": round(time.monotonic() - session_started, 2),
        "startup_s": stats["timings_s"],
        "upstream_calls": {
            service: sum(figures.get("requests", {}).values()) for service, figures in stats["sandbox"].items()
        },
        "upstream_faults": {
            service: sum(figures.get("faults", {}).values()) for service, figures in stats["sandbox"].items()
        },
        "upstream_faults_by_kind": {
            service: figures.get("faults", {}) for service, figures in stats["sandbox"].items()
        },
        "invocations": stats["engine_totals"],
        "api_requests": stats["api_requests"],
        # the functions' AWS calls per operation and the faults injected into them
        "aws_calls": stats["aws"]["calls"],
        "aws_faults": stats["aws"]["injected"],
        "aws_faults_total": stats["aws"]["injected_total"],
    }


def _serve(args: argparse.Namespace) -> int:
    from rich.console import Console

    from local.system import LocalSystem

    console = Console(soft_wrap=True)  # commands stay on one line, to be copied whole
    with LocalSystem(_system_options(args)) as system:
        url = system.api_url
        info = system.info()
        if args.info_file is not None:
            args.info_file.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        console.print(f"API: [bold]{url}[/]  (logs and cdk.out in {system.run_dir})")
        console.print(f"Web page: [bold]{url}/[/]")
        console.print(f"AWS: [bold]{info['awsEndpointUrl']}[/]  (moto; any credentials, region {info['region']})")
        if args.info_file is not None:
            console.print(f"Endpoints and stack outputs in {args.info_file}")
        console.print("Try:")
        console.print(f"  curl -s -X POST {url}/sessions -H 'content-type: application/json' \\")
        console.print("       --data-binary @<(jq -Rs '{netflixCsv: .}' NetflixViewingHistory.csv)")
        console.print(f"  curl -s {url}/sessions/<sessionId>")
        console.print(f"  curl -s {url}/sessions/<sessionId>/report")
        console.print(f"  curl -s {url}/openapi.json")
        console.print(f"  AWS_ENDPOINT_URL={info['awsEndpointUrl']} AWS_ACCESS_KEY_ID=local-runner "
                      f"AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION={info['region']} aws dynamodb list-tables")
        console.print(f"Operator commands against this system's AWS (moto at {system.aws.url}):")  # type: ignore[union-attr]  # started
        console.print(f"  .venv/bin/python -m ops --endpoint-url {system.aws.url} session <sessionId>")  # type: ignore[union-attr]
        console.print(f"  .venv/bin/python -m ops --endpoint-url {system.aws.url} dlq")  # type: ignore[union-attr]
        console.print("Ctrl-C to stop.")
        # SIGTERM (and SIGINT, which shells ignore in background jobs) stop it cleanly too.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            console.print("stopping")
    return EXIT_COMPLETED


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
