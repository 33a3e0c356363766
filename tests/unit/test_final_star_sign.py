"""The star sign in a finished report: starSignPicker runs at the 97 % mark, so a rules
pick is re-derived from the complete data at completion; an OpenAI pick is kept."""
from __future__ import annotations

from tests.unit.test_stats import cached, show
from tvreport.stages.picks import final_star_sign
from tvreport.stats import compute_statistics

RECORDS = [show("Alpha", 10, tmdb_id=1), show("Beta", 5, tmdb_id=2), show("Gamma", 2, tmdb_id=3)]
ALL_SCORED = {1: cached(1, "Alpha", genres=["Drama"], critics=90), 2: cached(2, "Beta", genres=["Drama"], critics=70),
              3: cached(3, "Gamma", genres=["Comedy"], critics=20)}
# at the 97 % mark the crawler had not reached Gamma yet
AT_THE_MARK = {**ALL_SCORED, 3: cached(3, "Gamma", genres=["Comedy"])}


def picked_at_the_mark() -> dict:
    """What starSignPicker stored: the rules pick from the scores known then."""
    stats = compute_statistics(RECORDS, AT_THE_MARK)
    rederived = final_star_sign({"source": "rules"}, stats)
    assert rederived is not None
    return rederived


def test_a_rules_pick_from_partial_scores_is_rederived_from_the_complete_data():
    stored = picked_at_the_mark()
    final_stats = compute_statistics(RECORDS, ALL_SCORED)
    final = final_star_sign(stored, final_stats)
    assert final is not None and final != stored
    score = final_stats.average_rt_score.score
    assert score is not None and f"{score:.0f}%" in final["scoreQuip"]
    assert final["source"] == "rules" and final["available"] is True


def test_a_rules_pick_already_from_the_complete_data_is_left_as_it_is():
    final_stats = compute_statistics(RECORDS, ALL_SCORED)
    stored = final_star_sign({"source": "rules"}, final_stats)
    assert final_star_sign(stored, final_stats) is None  # no write needed


def test_an_openai_pick_and_a_missing_one_are_kept():
    final_stats = compute_statistics(RECORDS, ALL_SCORED)
    assert final_star_sign({"source": "openai", "scoreQuip": "as the model wrote it"}, final_stats) is None
    assert final_star_sign(None, final_stats) is None
    assert final_star_sign({"available": False, "reason": "NO_SHOWS"}, final_stats) is None
