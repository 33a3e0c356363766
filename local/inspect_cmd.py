"""`python -m local inspect ...`: what the pipeline's parsers read from a file,
as JSON, without running anything."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def inspect_rotten_tomatoes(path: Path) -> dict[str, Any]:
    """A saved Rotten Tomatoes page (search or title page) through the crawler's parser."""
    from local.rt_inspect import summarize_rt_page

    return summarize_rt_page(path.read_text(encoding="utf-8", errors="replace"))


def inspect_netflix_csv(path: Path) -> dict[str, Any]:
    """A NetflixViewingHistory.csv export through the pipeline's reader."""
    from local.netflix_inspect import summarize_netflix_csv

    # utf-8-sig: exports saved by spreadsheet tools start with a byte-order mark.
    return summarize_netflix_csv(path.read_text(encoding="utf-8-sig"))


INSPECTORS = {
    "rottentomatoes": inspect_rotten_tomatoes,
    "netflix-csv": inspect_netflix_csv,
}
