"""`python -m local bench --scenario light --json` on tiny settings: the figures are
there and sane (no timed assertions; the times themselves go in docs/BENCHMARKS.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import JSII_SILENCERS, PROJECT_ROOT

pytestmark = pytest.mark.e2e
UPSTREAMS = ("gandalf", "tmdb", "rottentomatoes")


def test_the_light_bench_reports_every_figure():
    env = {key: value for key, value in os.environ.items() if key not in JSII_SILENCERS}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "local", "bench", "--scenario", "light", "--json", "--import-runs", "1",
         "--gandalf-ms", "20", "--tmdb-ms", "5", "--rottentomatoes-ms", "5",
         "--rate-limits", '{"tmdb": 100, "rottentomatoes": 50}'],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout)
    light = figures["scenarios"]["light"]
    assert light["state"] == "COMPLETED" and light["sessions"] == 1
    assert light["e2e_s"] > 0 and light["bound_s"] > 0
    assert light["ratio"] == pytest.approx(light["e2e_s"] / light["bound_s"], abs=0.01)
    # the bound is at least each service's calls over its budget
    assert light["bound_s"] >= light["upstream_calls"]["rottentomatoes"] / 50 - 1e-6
    calls = light["upstream_calls"]
    assert calls["gandalf"] >= 1 and calls["tmdb"] >= light["shows"] and calls["rottentomatoes"] > 0
    assert calls["openai"] == 0  # no key: the AI stages answer by rules
    for service in UPSTREAMS:
        assert 1 <= light["peak_rps"][service] <= calls[service]
    assert light["budget_rps"] == {"tmdb": 100, "rottentomatoes": 50, "gandalf": None}
    bucket = light["budget_bucket"]  # every budgeted call took a slot of the shared bucket
    assert bucket["budgeted_calls"] == calls["tmdb"] + calls["rottentomatoes"] and bucket["writes"] > 0
    assert bucket["writes_per_call"] == pytest.approx(bucket["writes"] / bucket["budgeted_calls"], abs=0.001)
    # both AI stages were called for by a stream record, then sent
    assert light["trigger_latencies"] == 2 and light["trigger_latency_p95_s"] >= 0
    functions = light["functions"]
    for stage in ("QueryActivities", "QueryShowData", "CrawlRottenTomatoes", "TvBff", "StarSignPicker",
                  "ProgressTracker"):
        assert functions[stage]["invocations"] >= 1 and functions[stage]["billed_ms"] > 0
        assert 10 < functions[stage]["peak_rss_mb"] < functions[stage]["memory_mb"] * 4
    assert 0 < light["max_timeout_share"] < 1
    assert light["dynamodb"]["read_units"] > 0 and light["dynamodb"]["write_units"] > 0
    assert light["sqs_requests"] > 0 and light["api_requests"] >= 2
    assert 0 < light["cost_per_1000_usd_arm64"] < light["cost_per_1000_usd"]
    imports = figures["import_s"]
    assert imports["floor"] > 0 and imports["QueryShowData"] > 0 and "floor" not in figures["import_vs_floor"]
