"""`python -m local`: inspect subcommands on real-world files, usage errors, and
the terminal summary."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from local.cli import EXIT_USAGE, main
from local.progress_view import print_summary, stage_detail
from tests.support.fixtures import REAL_FIXTURES

from .conftest import PROJECT_ROOT


def test_inspect_netflix_csv_as_a_module_from_another_directory(tmp_path: Path) -> None:
    # No install step: the CLI finds the project and the shared layer itself.
    export = REAL_FIXTURES / "netflix" / "simranvatsa_NetflixViewingHistory.csv"
    completed = subprocess.run(
        [sys.executable, "-m", "local", "inspect", "netflix-csv", str(export)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout)  # stdout holds the JSON and nothing else
    assert summary["rows_read"] == 913  # the README's row count for this export
    assert summary["date_format"] == "%m/%d/%y"
    assert summary["shows"] > 0 and summary["episodes"] > summary["shows"]


def test_inspect_finnish_export(capsys: pytest.CaptureFixture[str]) -> None:
    export = REAL_FIXTURES / "netflix" / "JustAuramo_NetflixViewingHistory_fi.csv"

    assert main(["inspect", "netflix-csv", str(export)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows_read"] == 793
    assert summary["date_format"] == "%d.%m.%Y"


def test_inspect_rotten_tomatoes_scorecard(capsys: pytest.CaptureFixture[str]) -> None:
    page = REAL_FIXTURES / "rottentomatoes" / "pawelkrupinski_movie_scorecard_the_dark_knight_2026.html"

    assert main(["inspect", "rottentomatoes", str(page)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["page_kind"] == "scores"
    assert summary["scores"]["critics_score"] == 94  # the README's figures for this page
    assert summary["scores"]["critics_reviews"] == 338


def test_inspect_rotten_tomatoes_search_page_with_a_tv_series(capsys: pytest.CaptureFixture[str]) -> None:
    page = REAL_FIXTURES / "rottentomatoes" / "yamtrack_search_dune_TRIMMED.html"

    assert main(["inspect", "rottentomatoes", str(page)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["page_kind"] == "search"
    series = [r for r in summary["results"] if r["path"] == "/tv/dune_prophecy"]
    assert len(series) == 1 and series[0]["tomatometer_score"] == 64


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--viewer", "enormous"],
        ["run", "--threshold", "abc"],
        ["inspect", "imdb", "x.html"],
        ["inspect", "netflix-csv", "/no/such/file.csv"],
        ["run", "--netflix-csv", "/no/such/export.csv"],
        ["run", "--aws-faults", "1.5"],
        ["run", "--aws-faults", "dynamodb:PutItem"],
        ["run", "--lose-responses", "tv_bff=often"],
        ["serve", "--lose-responses", "2"],
        [],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert main(argv) == EXIT_USAGE


def test_stage_detail_names_the_counters_a_stage_reports() -> None:
    assert stage_detail({"percent": 40, "pagesDone": 2, "pagesTotal": 5}) == "pages 2/5"
    assert stage_detail({"percent": 97, "showsDone": 78, "showsFailed": 2, "chunksDone": 1, "chunksFailed": 1}) == (
        "shows 78 (2 failed), chunks 1 done, 1 dead-lettered"
    )
    assert stage_detail({"percent": 100}) == ""


def test_summary_shows_state_report_sections_and_run_figures() -> None:
    console = Console(record=True, width=120)
    session = {"sessionId": "s-1", "state": "COMPLETED", "failureReason": None}
    report = {
        "statistics": {"showsWatched": 12, "topGenres": [{"genre": "Drama", "percent": 40}]},
        "tvBff": {"character": "Jim Hopper", "quip": "You would share your waffles."},
        "starSign": {"star_sign": "Leo"},
    }

    print_summary(console, session, report, {"wall_time_s": 42.0, "upstream_calls": {"tmdb": 30}})

    text = console.export_text()
    for expected in ("COMPLETED", "showsWatched: 12", "Drama", "Jim Hopper", "Leo", "wall_time_s", "tmdb: 30"):
        assert expected in text
