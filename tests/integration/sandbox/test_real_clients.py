"""Contract check: the project's own clients (tvreport.clients) talk to the sandbox
over HTTP and get what the catalogue says, same-name shows included."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.sandbox import Sandbox
from tvreport.clients.gandalf import GandalfClient
from tvreport.clients.rottentomatoes import RottenTomatoesClient
from tvreport.clients.tmdb import TmdbClient

from .conftest import TMDB_KEY


@pytest.fixture(autouse=True)
def budget_bucket(moto_tables: dict[str, str]) -> None:
    """The clients spend TMDB's and Rotten Tomatoes' budgets through the bucket on moto."""


@pytest.fixture(scope="module")
def sandbox(viewers: dict[str, list[dict]]) -> Iterator[Sandbox]:
    with Sandbox(tmdb_api_key=TMDB_KEY, viewers=viewers) as running:
        yield running


def test_gandalf_client_reads_signed_pages(sandbox: Sandbox, viewers):
    client = GandalfClient(sandbox.gandalf_url, sandbox.gandalf_private_key_hex or "")
    page = client.fetch_page("typical", 2)
    assert len(page.activities) == 300
    assert page.activities[0].title == viewers["typical"][300]["metadata"]["title"]


def test_tmdb_client_tells_same_name_shows_apart(sandbox: Sandbox):
    client = TmdbClient(sandbox.tmdb_url, TMDB_KEY)
    uk = client.lookup("The Office", year=2001)
    us = client.lookup("The Office", imdb_id="tt0386676")
    assert (uk.tmdb_id, uk.number_of_episodes) == (2996, 14)
    assert (us.tmdb_id, us.imdb_id) == (2316, "tt0386676")
    assert client.lookup("Happy Valley Nights") is None  # an obscure title TMDB lacks


def test_rotten_tomatoes_client_finds_scores(sandbox: Sandbox, catalogue):
    client = RottenTomatoesClient(sandbox.rotten_tomatoes_url)
    scores = client.find_scores("The Office", 2001, ["Ricky Gervais"])
    assert scores is not None and (scores.critics_score, scores.certified) == (97, True)
    assert scores.url.endswith("/tv/the_office_uk")
    no_page = next(show for show in catalogue.shows if show.rotten_tomatoes is None and not show.tmdb_missing)
    assert client.find_scores(no_page.title, no_page.first_air_year, []) is None
