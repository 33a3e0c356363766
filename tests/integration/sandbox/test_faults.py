"""Fault knobs: injected errors, timeouts and 429 bursts, counted per service."""
from __future__ import annotations

import time

import httpx
import pytest

from local.sandbox.catalogue import Catalogue
from local.sandbox.faults import FaultInjector, Faults
from local.sandbox.gandalf import GandalfSandbox
from local.sandbox.rottentomatoes import RottenTomatoesSandbox
from local.sandbox.tmdb import TmdbSandbox

from .conftest import TMDB_KEY, get_activity_body


def test_error_rate_one_answers_5xx_in_each_protocol(catalogue: Catalogue, gandalf_public_pem, signed_headers):
    always = Faults(error_rate=1.0, seed=7)
    with TmdbSandbox(catalogue, always, api_key=TMDB_KEY) as tmdb:
        statuses = {httpx.get(f"{tmdb.url}/3/tv/1396", params={"api_key": TMDB_KEY}).status_code for _ in range(8)}
        assert statuses <= {500, 503} and statuses
        assert tmdb.stats() == {"requests": {"tv": 8}, "faults": {"error": 8}}
    with RottenTomatoesSandbox(catalogue, always) as rt:
        assert httpx.get(f"{rt.url}/tv/breaking_bad").status_code in {500, 503}
    with GandalfSandbox({"light": []}, gandalf_public_pem, always) as gandalf:
        body = get_activity_body("light")
        response = httpx.post(gandalf.gql_url, content=body, headers=signed_headers(body))
        assert response.status_code == 502
        assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_timeouts_hold_the_answer_past_a_short_client_timeout(catalogue: Catalogue):
    slow = Faults(timeout_rate=1.0, timeout_sleep_s=0.6)
    with RottenTomatoesSandbox(catalogue, slow) as rt:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{rt.url}/tv/breaking_bad", timeout=0.2)
        assert time.monotonic() - started < 0.5
        patient = httpx.get(f"{rt.url}/tv/breaking_bad", timeout=3)
        assert patient.status_code == 200  # answered, only late
        assert rt.stats()["faults"] == {"timeout": 2}


def test_every_nth_request_is_rate_limited_with_retry_after(catalogue: Catalogue):
    with TmdbSandbox(catalogue, Faults(rate_limit_burst_every=3), api_key=TMDB_KEY) as tmdb:
        responses = [httpx.get(f"{tmdb.url}/3/tv/1399", params={"api_key": TMDB_KEY}) for _ in range(6)]
        assert [r.status_code for r in responses] == [200, 200, 429, 200, 200, 429]
        assert responses[2].headers["Retry-After"] == "1"
        assert responses[2].json()["status_code"] == 25
        assert tmdb.stats() == {"requests": {"tv": 6}, "faults": {"rate_limited": 2}}


def test_latency_is_added_to_every_request(catalogue: Catalogue):
    with RottenTomatoesSandbox(catalogue, Faults(latency_ms=150)) as rt:
        started = time.monotonic()
        assert httpx.get(f"{rt.url}/search", params={"search": "lost"}).status_code == 200
        assert time.monotonic() - started >= 0.15


def test_fault_decisions_repeat_with_the_seed():
    faults = Faults(error_rate=0.3, timeout_rate=0.2, rate_limit_burst_every=5, seed=11)
    first, second = FaultInjector(faults), FaultInjector(faults)
    sequence = [first.decide() for _ in range(200)]
    assert sequence == [second.decide() for _ in range(200)]
    assert 30 <= first.injected["error"] <= 70 and first.injected["rate_limited"] == 40
    other_seed = FaultInjector(Faults(error_rate=0.3, timeout_rate=0.2, rate_limit_burst_every=5, seed=12))
    assert [other_seed.decide() for _ in range(200)] != sequence


@pytest.mark.parametrize("bad", [{"error_rate": 1.5}, {"timeout_rate": -0.1}, {"latency_ms": -1}])
def test_faults_reject_impossible_settings(bad):
    with pytest.raises(ValueError):
        Faults(**bad)


def test_a_request_is_stamped_when_it_arrives_not_when_the_app_gets_to_it(catalogue: Catalogue,
                                                                           monkeypatch: pytest.MonkeyPatch):
    """The bench's peak requests per second reads these stamps: a busy host process
    running the app late must not bunch requests that arrived apart."""
    with RottenTomatoesSandbox(catalogue) as rt:
        dispatch = rt._dispatch

        def late_dispatch(request):
            time.sleep(0.4)  # the WSGI app gets the GIL late
            return dispatch(request)

        monkeypatch.setattr(rt, "_dispatch", late_dispatch)
        sent = time.monotonic()
        assert httpx.get(f"{rt.url}/tv/breaking_bad").status_code == 200
        (arrived,) = rt.arrival_times()
        assert sent <= arrived < sent + 0.2
