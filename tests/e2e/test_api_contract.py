"""The API contract on the whole local system (moto, the deployed template, the local
API Gateway, the pipeline behind it), started once for this module:

- schemathesis fuzzes every operation from the API's own /openapi.json: no 5xx, every
  status and body as documented, every 4xx a message that never echoes a dataKey;
- an export above the inline limit uploaded by presigned POST to moto S3 completes;
- a 7 MB inline body gets a 413 that points at POST /uploads.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from local.system import LocalSystem, SystemOptions
from tests.support.exports import repeated_export
from tvreport.api_models import MAX_INLINE_BODY_BYTES
from tvreport.netflix.csv_reader import read_netflix_csv_bytes
from tvreport.stages.history import group_plays

pytestmark = pytest.mark.e2e

# Per operation and mode (positive, negative): 6 operations with parameters x 2 modes x 90
# = 1,080 cases, plus POST /uploads (no parameters: one case). Measured: see the notes.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "90"))
REAL_SESSION_EXAMPLES = 25
MIN_CASES = 1000
# Not unsupported_method: API Gateway (and the local one) answers 403 "Missing
# Authentication Token" to methods a resource does not declare, before the function.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]



@pytest.fixture(scope="module")
def system() -> Iterator[LocalSystem]:
    with LocalSystem(SystemOptions(viewer="light", concurrency=2)) as running:
        yield running


def test_fuzzed_requests_get_documented_answers(system: LocalSystem) -> None:
    """Each operation, positive then negative cases (schemathesis' Python API with
    Hypothesis directly: its lazy pytest fixture loader does not run on pytest 9)."""
    document = httpx.get(f"{system.api_url}/openapi.json", timeout=120).raise_for_status().json()
    schema = schemathesis.openapi.from_dict(document)
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    session = requests.Session()
    # Random ids mostly meet 404s; a run per operation on one real waiting session
    # reaches its 200s and 409s too (after its DELETE the later operations see 404s).
    real_id = httpx.post(f"{system.api_url}/sessions", json={}, timeout=60).json()["sessionId"]
    for result in schema.get_all_operations():
        operation = result.ok()
        runs = [(mode, None, MAX_EXAMPLES) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if operation.path_parameters.get("session_id") is not None:
            runs.append((GenerationMode.POSITIVE, {"session_id": real_id}, REAL_SESSION_EXAMPLES))
        for mode, path_parameters, examples in runs:
            @given(operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
            @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                      derandomize=True, database=None, phases=[Phase.generate, Phase.shrink])
            def run(case) -> None:
                response = case.call_and_validate(base_url=system.api_url, session=session, checks=CHECKS, timeout=60)
                cases[f"{operation.label} {mode.value}{' real id' if path_parameters else ''}"] += 1
                statuses[response.status_code] += 1
                _check_error_body(case, response)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE and not operation.path_parameters and not operation.body
    print(f"\nschemathesis: {sum(cases.values())} cases, per operation and mode {dict(cases)}; "
          f"statuses {dict(sorted(statuses.items()))}")
    assert sum(cases.values()) >= MIN_CASES, dict(cases)
    assert not any(status >= 500 for status in statuses)


def _check_error_body(case, response) -> None:
    if not 400 <= response.status_code < 500 or response.status_code == 403:  # 403: the gateway, not us
        return
    body = response.json()
    assert isinstance(body.get("message"), str) and len(body["message"]) > 10, body
    sent = case.body.get("dataKey") if isinstance(case.body, dict) else None
    if isinstance(sent, str) and len(sent.strip()) >= 8:  # shorter ones may occur in any text
        assert sent not in response.text, "a dataKey was echoed"


def test_an_export_of_20_mb_uploaded_by_presigned_post_completes(system: LocalSystem, real_fixtures) -> None:
    export = repeated_export(real_fixtures / "netflix" / "simranvatsa_NetflixViewingHistory.csv", 20_000_000)
    assert len(export) > 20_000_000 > MAX_INLINE_BODY_BYTES
    ticket = httpx.post(f"{system.api_url}/uploads", timeout=60).json()
    assert ticket["url"].startswith(system.aws.url)  # the presigned POST points at the local moto
    started = time.monotonic()
    upload_id = system.upload_export(export)
    response = httpx.post(f"{system.api_url}/sessions", json={"uploadId": upload_id}, timeout=60)
    assert response.status_code == 201, response.text
    session_id = response.json()["sessionId"]
    document = system.wait_finished(session_id, timeout_s=600)
    print(f"\n20 MB export ({len(export)} bytes): {document['state']} in {time.monotonic() - started:.0f} s, "
          f"counters {document['counters']}")
    assert document["state"] == "COMPLETED", document
    # The plays of the whole file, as queryActivities groups them: none of it was lost.
    grouped, _ = group_plays([(a.title, a.watched_on, a.imdb_id) for a in read_netflix_csv_bytes(export).activities])
    assert document["source"] == "netflix_csv"
    assert document["counters"]["activities"] == sum(len(show.plays) for show in grouped.values()) > 30_000
    assert system.get_report(session_id)["statistics"]


def test_a_7_mb_inline_body_gets_a_413_that_points_at_uploads(system: LocalSystem) -> None:
    body = json.dumps({"netflixCsv": "Title,Date\n" + "\"Show: Season 1: Pilot\",\"1/2/23\"\n" * 210_000})
    assert len(body.encode()) > 7_000_000
    response = httpx.post(f"{system.api_url}/sessions", content=body, headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 413
    assert "POST /uploads" in response.json()["message"]


def test_swagger_ui_and_unknown_routes_through_the_local_gateway(system: LocalSystem) -> None:
    docs = httpx.get(f"{system.api_url}/docs", timeout=60)
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in docs.text
    today = date.today().isoformat()
    assert httpx.get(f"{system.api_url}/nowhere-{today}", timeout=60).status_code == 403  # API Gateway's answer
