"""The bench's pure figures: the lower bound, the one-second peak, DynamoDB units
from the edge's requests and answers, and the cost lines."""
from __future__ import annotations

import pytest

from local.bench.bound import BoundInputs, lower_bound, peak_rps
from local.bench.cost import PRICES_USD, session_cost
from local.bench.edge_log import EdgeLog, dynamodb_units, item_size

LATENCY = {"gandalf": 0.15, "tmdb": 0.06, "rottentomatoes": 0.25, "openai": 0.8}


def inputs(**changes) -> BoundInputs:
    base = {"latency_s": LATENCY, "calls": {"gandalf": 9, "tmdb": 200, "rottentomatoes": 200, "openai": 0},
            "budget_rps": {"gandalf": None, "tmdb": 40, "rottentomatoes": 5}, "shows": 100, "chunks": 2,
            "page_concurrency": 4, "show_data_concurrency": 2, "rt_concurrency": 2}
    return BoundInputs(**{**base, **changes})


def test_the_chain_follows_pages_chunks_and_the_slower_stage():
    bound = lower_bound(inputs())
    # pages: 1 + ceil(8 / 4) = 3 in a row; a chunk of 50 shows: 50 x 2 x 60 ms and 50 x 2 x 250 ms
    assert bound["gandalf_chain_s"] == pytest.approx(0.45)
    assert bound["pipeline_s"] == pytest.approx(6.0 + 25.0)
    assert bound["chain_s"] == pytest.approx(31.45)
    assert bound["budget_s"] == {"tmdb": 5.0, "rottentomatoes": 40.0}
    assert bound["bound_s"] == pytest.approx(40.0)  # RT's 5 requests/s dominates


def test_more_parallelism_lowers_the_chain_but_never_the_budget():
    bound = lower_bound(inputs(show_data_parallelism=10, rt_parallelism=10, budget_rps={"tmdb": None, "rottentomatoes": None}))
    assert bound["pipeline_s"] == pytest.approx(5 * 2 * 0.06 + 5 * 2 * 0.25)
    assert lower_bound(inputs(show_data_parallelism=10, rt_parallelism=10))["bound_s"] == pytest.approx(40.0)


def test_chunks_beyond_the_concurrency_come_in_waves_and_ai_calls_add_their_latency():
    bound = lower_bound(inputs(chunks=4, calls={"gandalf": 1, "tmdb": 200, "rottentomatoes": 0, "openai": 2},
                               budget_rps={}))
    assert bound["pipeline_s"] == pytest.approx(2 * (25 * 2 * 0.06))
    assert bound["chain_s"] == pytest.approx(0.15 + 6.0 + 0.8)


def test_a_warm_cache_leaves_only_the_pages():
    bound = lower_bound(inputs(calls={"gandalf": 5, "tmdb": 0, "rottentomatoes": 0}))
    assert bound["bound_s"] == pytest.approx(0.15 * 2)


def test_peak_rps_counts_the_busiest_second():
    assert peak_rps([]) == 0
    assert peak_rps([0.0, 0.1, 0.5, 0.99, 1.0, 1.5, 3.0]) == 4
    assert peak_rps([5.0, 2.0, 2.5, 2.9]) == 3  # order does not matter


def test_item_size_follows_dynamodbs_rules():
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 3
    assert item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1


def test_capacity_units_by_operation():
    big = {"pk": {"S": "x" * 5000}}
    assert dynamodb_units("GetItem", {}, {"Item": big}) == (1.0, 0.0)  # 2 x 4 KB, eventually consistent
    assert dynamodb_units("GetItem", {"ConsistentRead": True}, {}) == (1.0, 0.0)  # a miss still costs a unit
    assert dynamodb_units("PutItem", {"Item": big}, {}) == (0.0, 5.0)
    assert dynamodb_units("Query", {}, {"Items": [{"pk": {"S": "a"}}] * 3}) == (0.5, 0.0)
    transaction = {"TransactItems": [{"Put": {"Item": {"pk": {"S": "a"}}}},
                                     {"Update": {"Key": {"pk": {"S": "b"}}, "ExpressionAttributeValues": {":one": {"N": "1"}}}}]}
    assert dynamodb_units("TransactWriteItems", transaction, {}) == (0.0, 4.0)
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": big}}, {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]}}
    assert dynamodb_units("BatchWriteItem", batch, {}) == (0.0, 6.0)


def test_the_edge_log_pairs_an_ai_send_with_the_record_that_called_for_it():
    log = EdgeLog()
    send = b'{"QueueUrl": "q", "Entries": [{"Id": "0", "MessageBody": "{\\"session_id\\": \\"s1\\", \\"stage\\": \\"tv_bff\\"}"}]}'
    log("sqs", "SendMessageBatch", True, send, b'{"Successful": []}')
    assert log.ai_sends and log.events[-1].sqs_requests == 1 and log.events[-1].messages == 1
    log.crossings[("s1", "tv_bff")] = log.ai_sends[("s1", "tv_bff")] - 0.25
    assert log.trigger_latencies({"s1"}) == [pytest.approx(0.25)]
    assert log.trigger_latencies({"other"}) == []


def test_cost_scales_to_a_thousand_sessions():
    usage = {"invocations": 10, "gb_s": 100.0, "sqs_requests": 20, "read_units": 1000, "write_units": 400,
             "api_requests": 30, "secrets_calls": 4, "log_bytes": 1_000_000}
    x86, arm = session_cost(usage, sessions=2), session_cost(usage, sessions=2, architecture="arm64")
    assert x86["lambda_compute"] == pytest.approx(100 * PRICES_USD["lambda_gb_s_x86_64"] * 500, rel=1e-3)
    assert arm["total"] < x86["total"]
    assert x86["total"] == pytest.approx(sum(v for k, v in x86.items() if k != "total"), abs=1e-3)


def test_generated_shows_have_unique_titles_ids_and_pages():
    from local.sandbox.catalogue import default_catalogue
    from local.sandbox.synthetic import with_synthetic_shows

    base = default_catalogue()
    full, generated = with_synthetic_shows(base, 500)
    titles = [show.title for show in generated.shows]
    assert len(set(titles)) == 500 and len(full.shows) == len(base.shows) + 500
    # the sandbox searches by substring: no generated title may contain another
    assert not any(a != b and a.lower() in b.lower() for a in titles[:60] for b in titles)
    assert len({show.tmdb_id for show in full.shows}) == len(full.shows)
    assert all(full.find_by_title(title) == [show] for title, show in zip(titles, generated.shows, strict=False))
    assert all(show.rotten_tomatoes and sum(show.seasons) >= 10 for show in generated.shows)


class _NeverFinishes:
    """A system whose session keeps crunching (the API's document shape)."""

    def get_session(self, session_id):
        return {"state": "CRUNCHING_DATA",
                "stages": {"queryShowData": {"percent": 40, "showsDone": 2000, "showsFailed": 3},
                           "tvBFF": {"percent": 0}},
                "counters": {"totalShows": 5000, "movies": None}}


def test_a_session_past_the_timeout_says_where_it_stood_and_progress_is_reported_meanwhile():
    import pytest

    from local.bench.run import _wait_all

    lines: list[str] = []
    with pytest.raises(TimeoutError) as raised:
        _wait_all(_NeverFinishes(), ["s1"], timeout_s=0.05, on_line=lines.append, poll_s=0.01, report_every_s=0.02)
    assert "1 sessions unfinished" in str(raised.value)
    assert "CRUNCHING_DATA queryShowData=40% 2000+3f tvBFF=0% totalShows=5000" in str(raised.value)
    assert lines and "0/1 finished" in lines[0] and "movies" not in lines[0]


def test_the_table_shows_a_timed_out_scenario_beside_the_measured_ones():
    from rich.console import Console

    from local.bench.command import print_tables

    console = Console(record=True, width=200)
    print_tables(console, {"scenarios": {"scale-100k": {"state": "TIMED_OUT", "error": "1 sessions unfinished"}},
                           "import_s": {}, "prices": {"as_of": "2026-12-01"}})
    text = console.export_text()
    assert "TIMED_OUT" in text and "1 sessions unfinished" in text


def test_scale_100k_gets_a_timeout_beyond_its_own_floor_unless_one_is_given():
    from local.bench.run import DEFAULT_TIMEOUT_S, BenchOptions

    defaults = BenchOptions()
    # 5,000 shows at 2 Rotten Tomatoes calls each, 5 a second: 2,000 s before any slack
    assert defaults.timeout_for("scale-100k") >= 3 * 2_000
    assert defaults.timeout_for("heavy") == defaults.timeout_for("fairness") == DEFAULT_TIMEOUT_S
    given = BenchOptions(timeout_s=90)
    assert given.timeout_for("scale-100k") == given.timeout_for("heavy") == 90
