"""The trigger rules as pure functions of the session item."""
from __future__ import annotations

from hypothesis import given, strategies as st

from tvreport.progress import Decision, decide, is_ready, stage_percentages
from tvreport.schema import FOLLOW_UPS
from tvreport.session_model import SessionView, Stage

EVERY_FOLLOW_UP = frozenset(spec.stage for spec in FOLLOW_UPS)


def follow_up_flags(*suffixes: str) -> dict[str, str]:
    """`<flag>_<suffix>` of every follow-up stage (tvreport.schema), e.g. requested_at."""
    return {f"{spec.trigger_flag}_{suffix}": "t" for spec in FOLLOW_UPS for suffix in suffixes}


def session(**overrides) -> SessionView:
    item = {"session_id": "s1", "state": "CRUNCHING_DATA", "threshold_percent": 97,
            "total_shows": 100, "total_chunks": 2}
    item.update(overrides)
    return SessionView.from_item({k: v for k, v in item.items() if v is not None})


def test_nothing_is_emitted_before_the_history_is_split():
    view = session(total_shows=None, total_chunks=None, sd_shows_done=100, sd_chunks_done=2)
    assert decide(view) == Decision(frozenset(), False)


def test_tv_bff_waits_for_every_show_data_chunk():
    view = session(sd_shows_done=99, sd_chunks_done=1)
    assert Stage.TV_BFF not in decide(view).emit
    view = session(sd_shows_done=99, sd_shows_failed=1, sd_chunks_done=2)
    assert Stage.TV_BFF in decide(view).emit


def test_star_sign_needs_both_stages_at_the_threshold():
    both = session(sd_shows_done=97, sd_chunks_done=1, rt_shows_done=97, rt_chunks_done=1)
    assert Stage.STAR_SIGN in decide(both).emit and Stage.TV_BFF not in decide(both).emit
    rt_short = session(sd_shows_done=97, sd_chunks_done=1, rt_shows_done=96, rt_chunks_done=1)
    assert Stage.STAR_SIGN not in decide(rt_short).emit


def test_a_dead_lettered_chunk_still_lets_the_session_finish():
    view = session(sd_shows_done=50, sd_chunks_done=1, sd_chunks_failed=1, sd_shows_failed=50,
                   rt_shows_done=50, rt_chunks_done=1, rt_chunks_failed=1, rt_shows_failed=50)
    assert decide(view).emit == EVERY_FOLLOW_UP


def test_claimed_stages_are_not_emitted_again():
    view = session(sd_shows_done=100, sd_chunks_done=2, rt_shows_done=100, rt_chunks_done=2,
                   **follow_up_flags("requested_at"))
    assert decide(view).emit == frozenset()


def test_completion_needs_every_follow_up_stage_and_every_chunk():
    base = dict(sd_shows_done=100, sd_chunks_done=2, rt_shows_done=97, rt_chunks_done=1,
                **follow_up_flags("requested_at", "done_at"))
    assert not decide(session(**base)).complete  # one RT chunk still out
    base["rt_chunks_done"] = 2
    assert decide(session(**base)).complete


def test_finished_sessions_call_for_nothing():
    for state in ("COMPLETED", "FAILED", "AWAITING_CONNECTION"):
        view = session(state=state, sd_shows_done=100, sd_chunks_done=2)
        assert decide(view) == Decision(frozenset(), False)


def test_empty_history_is_ready_at_once():
    view = session(total_shows=0, total_chunks=0)
    assert decide(view).emit == EVERY_FOLLOW_UP


def test_percentages_follow_the_seed_rules():
    view = session(activity_pages_total=10, activity_pages_done=0, total_shows=None, total_chunks=None)
    assert stage_percentages(view)[Stage.QUERY_ACTIVITIES] == 0
    view = session(sd_shows_done=1, sd_chunks_done=0)
    pct = stage_percentages(view)
    assert pct[Stage.QUERY_ACTIVITIES] == 100
    assert pct[Stage.QUERY_SHOW_DATA] == 1
    assert pct[Stage.CRAWL_ROTTEN_TOMATOES] == 0
    view = session(sd_shows_done=99, sd_shows_failed=0, sd_chunks_done=1)
    assert stage_percentages(view)[Stage.QUERY_SHOW_DATA] == 99
    view = session(sd_shows_done=60, sd_chunks_done=1, sd_chunks_failed=1)
    assert stage_percentages(view)[Stage.QUERY_SHOW_DATA] == 100
    view = session(tvbff_requested_at="t", starsign_requested_at="t", starsign_done_at="t")
    pct = stage_percentages(view)
    assert (pct[Stage.TV_BFF], pct[Stage.STAR_SIGN]) == (1, 100)


@given(total=st.integers(1, 2000), done=st.integers(0, 2000), failed=st.integers(0, 2000),
       threshold=st.integers(1, 100))
def test_readiness_is_exactly_the_processed_ratio(total, done, failed, threshold):
    done = min(done, total)
    failed = min(failed, total - done)
    view = session(total_shows=total, total_chunks=1000, threshold_percent=threshold, sd_shows_done=done,
                   sd_shows_failed=failed)
    assert is_ready(view, view.show_data) == ((done + failed) / total * 100 >= threshold - 1e-9)


def test_readiness_counts_processed_shows_exhaustively():
    # Every split of up to 40 shows into done / failed / not yet processed, with a
    # chunk still out: ready exactly when done + failed reach the threshold.
    for total in range(1, 41):
        for done in range(total + 1):
            for failed in range(total - done + 1):
                for threshold in (1, 50, 97, 100):
                    view = session(total_shows=total, total_chunks=2, threshold_percent=threshold,
                                   sd_shows_done=done, sd_shows_failed=failed, sd_chunks_done=1)
                    assert is_ready(view, view.show_data) == (100 * (done + failed) >= threshold * total)


def test_unmatched_titles_do_not_hold_the_report_back():
    # 7 % of the titles are not on TMDB and 17 % have no score: processed all the same.
    # 97 of 100 shows are processed in both stages with a chunk still out.
    view = session(sd_shows_done=90, sd_shows_failed=7, sd_chunks_done=1,
                   rt_shows_done=80, rt_shows_failed=17, rt_chunks_done=1)
    assert decide(view).emit == {Stage.STAR_SIGN}
    view = session(sd_shows_done=90, sd_shows_failed=6, sd_chunks_done=1,
                   rt_shows_done=80, rt_shows_failed=17, rt_chunks_done=1)
    assert decide(view).emit == frozenset()  # 96 % processed in show data: not yet


@given(st.integers(0, 50), st.integers(0, 50), st.booleans(), st.booleans())
def test_decisions_depend_only_on_the_image(sd_done, rt_done, tv_claimed, ss_claimed):
    kwargs = dict(total_shows=50, total_chunks=1, sd_shows_done=sd_done, rt_shows_done=rt_done,
                  tvbff_requested_at="t" if tv_claimed else None,
                  starsign_requested_at="t" if ss_claimed else None)
    first, second = decide(session(**kwargs)), decide(session(**kwargs))
    assert first == second
    assert not (tv_claimed and Stage.TV_BFF in first.emit)
    assert not (ss_claimed and Stage.STAR_SIGN in first.emit)
