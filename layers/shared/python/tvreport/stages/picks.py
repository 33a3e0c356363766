"""The star sign a finished report shows. No OpenAI import here: the tracker and the
watchdog use this at completion."""
from __future__ import annotations

from tvreport.ai_rules import rule_star_sign_pick
from tvreport.results import StageResult, StarSignResult
from tvreport.stats import ViewingStatistics


def star_sign_inputs(stats: ViewingStatistics) -> tuple[list[tuple[str, float]], float | None, list[str]]:
    """What a star sign is picked from: top genres, average score, top shows."""
    return ([(g.genre, g.percent) for g in stats.top_genres], stats.average_rt_score.score,
            [s.title for s in stats.top_shows])


def final_star_sign(stored: StageResult | None, stats: ViewingStatistics) -> StarSignResult | None:
    """The star sign the finished report shows. starSignPicker runs at the 97 % mark,
    on the scores crawled by then, so which shows it saw depends on timing. A rules
    pick is a function of its inputs: it is re-derived from the complete data, so its
    quips agree with the report's statistics and a session's report does not depend
    on delivery order. An OpenAI pick is kept as the model wrote it. None: nothing
    to change."""
    if not isinstance(stored, StarSignResult) or stored.source != "rules":
        return None
    final = StarSignResult.of(rule_star_sign_pick(*star_sign_inputs(stats)))
    return None if final == stored else final
