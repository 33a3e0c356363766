"""The runner's own structured log (Powertools Logger, JSON lines).

It goes to <run dir>/logs/runner.log once a run directory exists, and to stderr
(warnings and errors only) before that, so stdout stays free for `--json`."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from aws_lambda_powertools import Logger

_handler = logging.StreamHandler(sys.stderr)
logger = Logger(service="local-runner", level="WARNING", logger_handler=_handler)


def log_to_file(path: Path, level: str = "INFO") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    old = _handler.setStream(path.open("a", encoding="utf-8"))
    if old is not None and old not in (sys.stderr, sys.stdout):
        old.close()
    logger.setLevel(level)
