"""Whole sessions on the local system. Each heavy run happens once per test session
and its result is shared by the tests that read it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


# What jsii reads to stay quiet about Node: the CLI must set them itself, so the
# tests' runs go without them (tests/conftest.py sets one for this process).
JSII_SILENCERS = ("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION")


@cache
def cli_output(*args: str) -> tuple[int, str, str]:
    """`python -m local run --json ARGS`, once per test session: exit code, stdout, stderr."""
    env = {key: value for key, value in os.environ.items() if key not in JSII_SILENCERS}
    env.pop("OPENAI_API_KEY", None)  # the rules pick: deterministic, no network
    done = subprocess.run([sys.executable, "-m", "local", "run", "--json", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=1800, env=env)
    return done.returncode, done.stdout, done.stderr


def cli_run(*args: str) -> tuple[int, dict, str]:
    """`python -m local run --json ARGS`: exit code, the JSON document, stderr."""
    code, stdout, stderr = cli_output(*args)
    document = json.loads(stdout) if stdout.strip() else {}
    return code, document, stderr
