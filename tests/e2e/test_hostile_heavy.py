"""The heavy viewer against the hostile local AWS (injected DynamoDB and SQS faults,
every batch delivered to two workers at once) and failing upstreams: the session
ends COMPLETED with the same document as the clean run, ids, times and the runner's
own figures aside (issue 7 §3)."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import cli_run
from tests.e2e.test_cli_sessions import comparable

pytestmark = pytest.mark.e2e

# 5 % of every AWS call, as the issue asks; a heavy session makes only about 20
# TransactWriteItems and 20 SendMessageBatch calls, so at 5 % either may draw no fault
# at all (about 0.95^20 = 36 %): those two get 30 % so both families surely fire.
HOSTILE = ("--viewer", "heavy", "--timeout-s", "1500",
           "--aws-faults", "*=0.05,dynamodb:TransactWriteItems=0.3,sqs:SendMessageBatch=0.3",
           "--race-duplicates", "--error-rate", "0.1", "--seed", "7")


def _runs() -> tuple[dict, dict]:
    code, hostile, stderr = cli_run(*HOSTILE)
    assert code == 0, stderr[-3000:]
    code_clean, clean, stderr_clean = cli_run("--viewer", "heavy")
    assert code_clean == 0, stderr_clean[-3000:]
    return hostile, clean


def test_a_heavy_viewer_under_aws_faults_and_raced_deliveries_matches_the_clean_run():
    hostile, clean = _runs()
    assert hostile["state"] == "COMPLETED", hostile.get("failureReason")
    run = hostile["run"]
    # the faults were there: AWS faults of each family, raced copies, upstream 5xx
    assert run["aws_faults_total"] > 0, run["aws_faults"]
    injected = run["aws_faults"]
    assert "dynamodb:TransactWriteItems" in injected and "sqs:SendMessageBatch" in injected, injected
    assert run["invocations"]["race_invocations"] > 0
    assert sum(service.get("error", 0) for service in run["upstream_faults_by_kind"].values()) > 0
    # the star sign included: picked at the 97 % mark, re-derived from the complete data
    assert comparable(hostile) == comparable(clean)
