"""AI picks as the report stores them, and the star sign a finished report shows. No
OpenAI import here: the tracker and the watchdog use this at completion."""
from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from pydantic.alias_generators import to_camel

from tvreport.ai_rules import rule_star_sign_pick
from tvreport.stats import ViewingStatistics


def plain(pick: Any) -> dict[str, Any]:
    """A pick as the API shows it (camelCase keys, like the rest of the report)."""
    data = asdict(pick) if is_dataclass(pick) else dict(pick.model_dump())  # type: ignore[arg-type]  # an instance
    return {to_camel(key): value for key, value in data.items()}


def star_sign_inputs(stats: ViewingStatistics) -> tuple[list[tuple[str, float]], float | None, list[str]]:
    """What a star sign is picked from: top genres, average score, top shows."""
    return ([(g.genre, g.percent) for g in stats.top_genres], stats.average_rt_score.score,
            [s.title for s in stats.top_shows])


def final_star_sign(stored: dict[str, Any] | None, stats: ViewingStatistics) -> dict[str, Any] | None:
    """The star sign the finished report shows. starSignPicker runs at the 97 % mark,
    on the scores crawled by then, so which shows it saw depends on timing. A rules
    pick is a function of its inputs: it is re-derived from the complete data, so its
    quips agree with the report's statistics and a session's report does not depend
    on delivery order. An OpenAI pick is kept as the model wrote it. None: nothing
    to change."""
    if not stored or stored.get("source") != "rules":
        return None
    final = {"available": True, **plain(rule_star_sign_pick(*star_sign_inputs(stats)))}
    return None if final == stored else final
