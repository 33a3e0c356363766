"""Wall time and upstream calls of whole local sessions, per viewer profile.

    .venv/bin/python benchmarks/run_sessions.py [light typical heavy] [--duplicate-deliveries]

Measures; asserts nothing. Figures from this machine are in benchmarks/README.md."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared" / "python")]


def measure(viewer: str, duplicate: bool) -> dict:
    from local.system import LocalSystem, SystemOptions

    started = time.perf_counter()
    with LocalSystem(SystemOptions(viewer=viewer, duplicate_deliveries=duplicate)) as system:
        ready = time.perf_counter()
        session_id = system.start_session()
        document = system.wait_finished(session_id, timeout_s=1200)
        finished = time.perf_counter()
        stats = system.stats()
    requests = {service: sum(figures["requests"].values()) for service, figures in stats["sandbox"].items()}
    return {"viewer": viewer, "duplicate_deliveries": duplicate, "state": document["state"],
            "shows": document["counters"]["totalShows"], "chunks": document["counters"]["totalChunks"],
            "activities": document["counters"]["activities"], "startup_s": round(ready - started, 1),
            "session_s": round(finished - ready, 1), "upstream_requests": requests,
            "invocations": stats["engine_totals"].get("invocations")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("viewers", nargs="*", default=["light", "typical", "heavy"])
    parser.add_argument("--duplicate-deliveries", action="store_true")
    args = parser.parse_args()
    for viewer in args.viewers:
        print(json.dumps(measure(viewer, args.duplicate_deliveries)), flush=True)


if __name__ == "__main__":  # workers are spawned processes: guard the entry point
    main()
