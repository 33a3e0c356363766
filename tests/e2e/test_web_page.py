"""The web page in a real browser (Debian's headless Chromium driven by Playwright):
upload a real Netflix export and read the report; link Netflix through the Gandalf
Connect stand-in and land back on the page with a finished report.

Without /usr/bin/chromium (or the playwright package) the tests skip, unless
TVREPORT_REQUIRE_BROWSER=1 (set by .ci/run), where they fail instead."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from local.system import LocalSystem, SystemOptions

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EXPORT = "netflix/simranvatsa_NetflixViewingHistory.csv"
STAR_SIGNS = {"Aries", "Taurus", "Gemini", "Cancer", "Leo", "Virgo", "Libra", "Scorpio", "Sagittarius",
              "Capricorn", "Aquarius", "Pisces"}
SESSION_TIMEOUT_MS = 600_000


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (requirements-dev.txt)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing_browser()
    if reason:
        if os.environ.get("TVREPORT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def system(browser):
    """One local system for the module (the browser first: without it nothing starts)."""
    os.environ.pop("OPENAI_API_KEY", None)  # the rules pick: deterministic, no network
    with LocalSystem(SystemOptions(viewer="light", openai_api_key="")) as running:
        yield running


def _save(page, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / name)
    return shot


def test_an_uploaded_real_export_becomes_a_report_on_the_page(system, browser, real_fixtures, tmp_path):
    from playwright.sync_api import expect

    from local.inspect_cmd import INSPECTORS

    export = real_fixtures / EXPORT
    reader = INSPECTORS["netflix-csv"](export)  # what the CSV reader makes of this file
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    started = time.monotonic()

    page.goto(f"{system.api_url}/")
    page.get_by_test_id("file").set_input_files(str(export))
    page.get_by_test_id("upload").click()

    expect(page.get_by_test_id("state")).to_have_text("COMPLETED", timeout=SESSION_TIMEOUT_MS)
    expect(page.get_by_test_id("report")).to_be_visible()
    expect(page.get_by_test_id("shows-watched")).to_have_text(str(reader["shows"]))
    expect(page.get_by_test_id("movies-watched")).to_have_text(str(reader["movies"]))
    expect(page.get_by_test_id("episodes-watched")).to_have_text(str(reader["episodes"]))
    expect(page.get_by_test_id("counts")).to_contain_text(f"{reader['rows_used']} plays read")
    assert len(reader["rows_rejected"]) == 1  # Netflix's unfilled template row
    expect(page.get_by_test_id("counts")).to_contain_text("1 row skipped")
    top_shows = page.get_by_test_id("top-shows").locator("li")
    expect(top_shows.first).to_contain_text(reader["top_shows"][0]["show"])
    for stage in page.locator("[data-stage]").all():
        expect(stage.locator(".pct")).to_have_text("100 %")
    # the charts: one bar per top genre, one per month of the history
    session_id = page.evaluate("new URL(location.href).searchParams.get('session')")
    statistics = system.get_report(session_id)["statistics"]
    assert statistics["topGenres"] and statistics["episodesByMonth"]
    expect(page.get_by_test_id("genres-chart").locator("svg rect")).to_have_count(len(statistics["topGenres"]))
    expect(page.get_by_test_id("months-chart").locator("svg rect")).to_have_count(len(statistics["episodesByMonth"]))
    expect(page.get_by_test_id("span")).to_contain_text(
        f"From {statistics['historyFirstDate']} to {statistics['historyLastDate']}")
    expect(page.get_by_test_id("bff-name")).not_to_be_empty()
    expect(page.get_by_test_id("bff")).to_contain_text("Picked by rules")
    assert page.get_by_test_id("star-sign-name").text_content() in STAR_SIGNS
    expect(page.get_by_test_id("actor-name")).to_contain_text(statistics["topActor"]["name"])
    print(f"upload to report on the page: {time.monotonic() - started:.1f} s")
    assert _save(page, tmp_path, "web-report.png").stat().st_size > 10_000


def test_a_file_that_is_not_an_export_shows_the_apis_message(system, browser, tmp_path):
    from playwright.sync_api import expect

    not_an_export = tmp_path / "notes.csv"
    not_an_export.write_text("shopping list\nmilk\neggs\n", encoding="utf-8")
    page = browser.new_page()

    page.goto(f"{system.api_url}/")
    page.get_by_test_id("file").set_input_files(str(not_an_export))
    page.get_by_test_id("upload").click()

    expect(page.get_by_test_id("error")).to_contain_text("not a Netflix viewing-history export")
    expect(page.get_by_test_id("progress")).to_be_hidden()


def test_linking_netflix_through_connect_lands_back_on_a_finished_report(system, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)  # a phone
    started = time.monotonic()

    page.goto(f"{system.api_url}/")
    page.get_by_test_id("connect").click()
    page.wait_for_url(f"{system.sandbox.connect_url}/?*")  # Gandalf Connect (the stand-in)
    page.get_by_role("button", name="Link the light viewer").click()
    page.wait_for_url(f"{system.api_url}/?session=*")  # redirected back through the callback

    expect(page.get_by_test_id("state")).to_have_text("COMPLETED", timeout=SESSION_TIMEOUT_MS)
    expect(page.get_by_test_id("report")).to_be_visible()
    session_id = page.evaluate("new URL(location.href).searchParams.get('session')")
    session = system.get_session(session_id)
    assert (session["state"], session["source"]) == ("COMPLETED", "gandalf")
    assert system.sandbox.connect.linked == ["light"]
    expect(page.get_by_test_id("shows-watched")).to_have_text(str(session["counters"]["totalShows"]))
    expect(page.get_by_test_id("months-chart").locator("svg rect").first).to_be_visible()
    assert page.get_by_test_id("star-sign-name").text_content() in STAR_SIGNS
    # the page fits the phone's width: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    print(f"Connect click to report on the page: {time.monotonic() - started:.1f} s")
    _save(page, tmp_path, "web-report-phone.png")


def test_a_failed_session_says_why_on_its_page(system, browser):
    """A Connect return with a dataKey Gandalf does not know: the session fails at once
    (RECORD_NOT_FOUND) and the page the callback lands on says so."""
    from playwright.sync_api import expect

    created = httpx.post(f"{system.api_url}/sessions", json={}, timeout=60).json()
    page = browser.new_page()

    page.goto(f"{system.api_url}/sessions/{created['sessionId']}/callback?dataKey=not-a-gandalf-key")

    assert page.url == f"{system.api_url}/?session={created['sessionId']}"
    expect(page.get_by_test_id("state")).to_have_text("FAILED", timeout=SESSION_TIMEOUT_MS)
    expect(page.get_by_test_id("error")).to_contain_text("Gandalf has no viewing history for this link")
    expect(page.get_by_test_id("error")).to_contain_text("RECORD_NOT_FOUND")
    expect(page.get_by_test_id("report")).to_be_hidden()
