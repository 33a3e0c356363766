"""Where the real fixtures are: pages, API answers and Netflix exports nobody here wrote.

They live beside the project (`../shared/fixtures/real`), not in it; a checkout elsewhere
points at them with TVREPORT_REAL_FIXTURES."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REAL_FIXTURES = Path(os.environ.get("TVREPORT_REAL_FIXTURES")
                     or PROJECT_ROOT / ".." / "shared" / "fixtures" / "real").resolve()


def missing_message() -> str | None:
    """Why the real fixtures cannot be read, or None when they can."""
    if (REAL_FIXTURES / "netflix").is_dir():
        return None
    return (f"the real fixtures are not at {REAL_FIXTURES}: clone the project beside shared/ "
            "or set TVREPORT_REAL_FIXTURES to its fixtures/real folder")
