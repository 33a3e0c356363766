"""The star sign in a finished report: starSignPicker runs at the 97 % mark, so a rules
pick is re-derived from the complete data at completion; an OpenAI pick is kept."""
from __future__ import annotations

from tests.unit.test_stats import cached, show
from tvreport.results import StageResult, StarSignResult
from tvreport.stages.picks import final_star_sign
from tvreport.stats import compute_statistics

RECORDS = [show("Alpha", 10, tmdb_id=1), show("Beta", 5, tmdb_id=2), show("Gamma", 2, tmdb_id=3)]
ALL_SCORED = {1: cached(1, "Alpha", genres=["Drama"], critics=90), 2: cached(2, "Beta", genres=["Drama"], critics=70),
              3: cached(3, "Gamma", genres=["Comedy"], critics=20)}
# at the 97 % mark the crawler had not reached Gamma yet
AT_THE_MARK = {**ALL_SCORED, 3: cached(3, "Gamma", genres=["Comedy"])}


RULES = StarSignResult(available=True, source="rules")


def picked_at_the_mark() -> StarSignResult:
    """What starSignPicker stored: the rules pick from the scores known then."""
    stats = compute_statistics(RECORDS, AT_THE_MARK)
    rederived = final_star_sign(RULES, stats)
    assert rederived is not None
    return rederived


def test_a_rules_pick_from_partial_scores_is_rederived_from_the_complete_data():
    stored = picked_at_the_mark()
    final_stats = compute_statistics(RECORDS, ALL_SCORED)
    final = final_star_sign(stored, final_stats)
    assert final is not None and final != stored
    score = final_stats.average_rt_score.score
    assert score is not None and final.score_quip is not None and f"{score:.0f}%" in final.score_quip
    assert final.source == "rules" and final.available is True


def test_a_rules_pick_already_from_the_complete_data_is_left_as_it_is():
    final_stats = compute_statistics(RECORDS, ALL_SCORED)
    stored = final_star_sign(RULES, final_stats)
    assert final_star_sign(stored, final_stats) is None  # no write needed
    # as SessionView reads it back from the item it was stored as
    assert stored is not None
    assert final_star_sign(StarSignResult.model_validate(stored.stored()), final_stats) is None


def test_an_openai_pick_and_a_missing_one_are_kept():
    final_stats = compute_statistics(RECORDS, ALL_SCORED)
    openai = StarSignResult(available=True, source="openai", score_quip="as the model wrote it")
    assert final_star_sign(openai, final_stats) is None
    assert final_star_sign(None, final_stats) is None
    assert final_star_sign(StageResult.unavailable("STAGE_FAILED"), final_stats) is None
