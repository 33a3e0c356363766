"""`python -m local run --json` end to end: the deployed template on moto, the
sandbox services over loopback HTTP, every stage driven through its mappings."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import cli_output, cli_run

pytestmark = pytest.mark.e2e
BYTES_REPR = re.compile(r"(?<!\w)b['\"]")


def comparable(document: dict) -> dict:
    """What must not depend on delivery: state, counters, per-stage figures, report."""
    report = dict(document["report"])
    report.pop("sessionId")
    return {"state": document["state"], "stages": document["stages"], "counters": document["counters"],
            "report": report}


def test_a_heavy_viewer_completes_with_exact_counters():
    code, doc, stderr = cli_run("--viewer", "heavy")
    assert code == 0, stderr[-3000:]
    assert doc["state"] == "COMPLETED"
    counters, stages = doc["counters"], doc["stages"]
    assert counters["totalShows"] >= 300 and counters["totalChunks"] >= 6
    assert counters["activities"] >= 5000
    for stage in ("queryShowData", "crawlRottenTomatoes"):
        figures = stages[stage]
        assert figures["percent"] == 100
        assert figures["chunksDone"] + figures["chunksFailed"] == counters["totalChunks"]
        assert figures["showsDone"] + figures["showsFailed"] == counters["totalShows"]
    # obscure titles are not on TMDB, a few shows have no RT page: both are normal outcomes
    assert 0 < stages["queryShowData"]["showsFailed"] < 0.03 * counters["totalShows"]
    assert stages["crawlRottenTomatoes"]["showsFailed"] >= stages["queryShowData"]["showsFailed"]
    statistics = doc["report"]["statistics"]
    assert statistics["showsWatched"] == counters["totalShows"]
    assert statistics["totalPlays"] == counters["activities"]
    assert len(statistics["topShows"]) == 3 and statistics["topGenres"]
    assert 0 < statistics["averageRtScore"]["score"] <= 100
    assert doc["report"]["tvBff"]["available"] and doc["report"]["tvBff"]["source"] == "rules"
    star_sign = doc["report"]["starSign"]
    assert star_sign["starSign"] and star_sign["personality"] and star_sign["source"] == "rules"
    assert all(len(star_sign[q]) <= 140 for q in ("starSignQuip", "personalityQuip", "genresQuip", "scoreQuip"))
    assert doc["run"]["upstream_calls"]["gandalf"] == stages["queryActivities"]["pagesTotal"]


def test_a_run_prints_no_byte_strings_or_node_banners():
    # The heavy run above, with no JSII_SILENCE_* variables in its environment.
    code, stdout, stderr = cli_output("--viewer", "heavy")
    assert code == 0, stderr[-3000:]
    for printed in (stdout, stderr):
        assert not BYTES_REPR.search(printed)  # b'...' as Python prints bytes ("Bob's Burgers" is fine)
        assert "end-of-life" not in printed and "!!!!" not in printed
    assert "queryShowData" in stderr  # the progress bars did print there


def test_duplicate_deliveries_change_nothing():
    code, clean, _ = cli_run("--viewer", "heavy")
    code_twice, twice, stderr = cli_run("--viewer", "heavy", "--duplicate-deliveries")
    assert code == code_twice == 0, stderr[-3000:]
    assert twice["run"]["invocations"]["duplicate_invocations"] > 0
    assert comparable(twice) == comparable(clean)


def test_a_run_under_upstream_faults_still_completes():
    code, doc, stderr = cli_run("--viewer", "typical", "--error-rate", "0.05", "--timeout-rate", "0.01",
                                "--latency-ms", "5", "--rate-limit-every", "40")
    assert code == 0, stderr[-3000:]
    assert doc["state"] == "COMPLETED"
    kinds = doc["run"]["upstream_faults_by_kind"]
    for kind in ("error", "timeout", "rate_limited"):  # every fault knob fired and was absorbed
        assert sum(service.get(kind, 0) for service in kinds.values()) > 0, kinds
    for stage in ("queryShowData", "crawlRottenTomatoes"):
        assert doc["stages"][stage]["percent"] == 100


def test_a_real_netflix_export_is_uploaded_and_reported(real_fixtures):
    export = real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv"
    code, doc, stderr = cli_run("--netflix-csv", str(export))
    assert code == 0, stderr[-3000:]
    assert (doc["state"], doc["source"]) == ("COMPLETED", "netflix_csv")
    # the reader's figures for this file (tests/unit/netflix): 61 shows, 106 movies, 1 rejected row
    assert doc["counters"]["totalShows"] == 61 and doc["counters"]["movies"] == 106
    assert doc["counters"]["rejectedRows"] == 1
    statistics = doc["report"]["statistics"]
    assert statistics["topShows"][0]["title"] == "Friends"
    # shows outside the bundled catalogue are "not found" upstream, as obscure titles are
    assert statistics["coverage"]["showsWithTmdb"] == doc["stages"]["queryShowData"]["showsDone"] < 61
