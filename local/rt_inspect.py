"""What the crawler's parser reads from a saved Rotten Tomatoes page, JSON-ready
(`python -m local inspect rottentomatoes FILE.html`). Only the CLI uses it, so no
Lambda function ships it; the parsing is the layer's (tvreport.clients.rt_parser)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tvreport.clients.rt_parser import read_scores_with_sources, read_search_page


def summarize_rt_page(html: str) -> dict[str, Any]:
    results = read_search_page(html)
    if results:
        return {
            "page_kind": "search",
            "results": [{**asdict(r), "path": r.path, "year": r.year} for r in results],
        }
    scores, sources = read_scores_with_sources(html)
    if sources:
        return {"page_kind": "scores", "sources": sources, "scores": asdict(scores)}
    return {"page_kind": "unknown"}
