"""Whole sessions on the local system. Each heavy run happens once per test session
and its result is shared by the tests that read it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=None)
def cli_run(*args: str) -> tuple[int, dict, str]:
    """`python -m local run --json ARGS`: exit code, the JSON document, stderr."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    env.pop("OPENAI_API_KEY", None)  # the rules pick: deterministic, no network
    done = subprocess.run([sys.executable, "-m", "local", "run", "--json", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=900, env=env)
    document = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, document, done.stderr
