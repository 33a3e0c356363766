"""A chunk that keeps crashing its Lambda is redriven by SQS to the stage's DLQ; the
dead-letter function counts it executed-but-failed and the session still finishes."""
from __future__ import annotations

import json

import pytest

from local.system import LocalSystem, SystemOptions

pytestmark = pytest.mark.e2e


def crash_show_data_chunk_one(record) -> bool:
    """Every delivery of queryShowData's chunk 1 dies before the handler (an OOM or a
    timeout would look the same to SQS)."""
    source = str(record.get("eventSourceARN", "")).lower()
    if "queryshowdata" not in source or "deadletter" in source:
        return False  # only the stage's own queue; its DLQ's consumer works normally
    try:
        body = json.loads(record.get("body", ""))
    except (TypeError, ValueError):
        return False
    return body.get("chunk_id") == 1


def test_a_dead_lettered_chunk_still_lets_the_session_complete():
    options = SystemOptions(viewer="typical", chunk_size=30, crash_matching=crash_show_data_chunk_one)
    with LocalSystem(options) as system:
        session_id = system.start_session()
        document = system.wait_finished(session_id, timeout_s=600)
        report = system.get_report(session_id)
        stats = system.stats()
    assert document["state"] == "COMPLETED", document
    show_data, crawl = document["stages"]["queryShowData"], document["stages"]["crawlRottenTomatoes"]
    assert document["counters"]["totalChunks"] == 3
    assert (show_data["chunksDone"], show_data["chunksFailed"]) == (2, 1)
    assert (crawl["chunksDone"], crawl["chunksFailed"]) == (2, 1)  # never forwarded: counted failed there too
    assert show_data["showsFailed"] >= 30
    assert stats["engine_totals"]["injected_crashes"] == 3  # maxReceiveCount of queryShowData
    assert report is not None and report["tvBff"]["available"] and report["starSign"]["available"]
