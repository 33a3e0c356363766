"""cdk-nag's AWS Solutions pack runs on every synth of the app (app.make_app): the
session's synth passed it, so its report shows no open finding, and each finding
kept is acknowledged with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Stack, aws_sqs as sqs

from app import make_app
from stacks.nag import INCOMING_OBJECTS, REASONS, UPLOAD_OBJECTS
from tests.conftest import SKIP_BUNDLING, Synthesized

# The rules this stack keeps on purpose (stacks/nag.py says why); anything else the
# pack reports must be fixed. AwsSolutions-IAM5 on the uploads prefix is per role.
KEPT_RULES = {
    "AwsSolutions-APIG3",
    "AwsSolutions-APIG4",
    "AwsSolutions-APIG6",
    "AwsSolutions-COG4",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-S1",
    "AwsSolutions-SMG4",
    "AwsSolutions-SQS3",
}


@pytest.fixture(scope="module")
def report(synthesized: Synthesized) -> dict:
    [plugin] = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())["pluginReports"]
    return plugin


def test_the_pack_finds_nothing_unacknowledged(report: dict) -> None:
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_each_kept_finding_is_acknowledged_with_its_reason(report: dict) -> None:
    suppressed = report["suppressedViolations"]
    assert suppressed, "the report lists acknowledged findings"
    for finding in suppressed:
        assert finding["acknowledgedId"] == f"AwsSolutions::{finding['ruleName']}"
        assert len(finding["reason"]) > 40
        rule = finding["ruleName"]
        expected = (UPLOAD_OBJECTS if rule.endswith("/uploads/*]")
                    else INCOMING_OBJECTS if rule.endswith("/uploads/incoming/*]") else REASONS[rule])
        assert finding["reason"] == expected


def test_only_the_listed_rules_are_kept_and_every_reason_is_used(report: dict) -> None:
    kept = {f["ruleName"] for f in report["suppressedViolations"]}
    uploads = {rule for rule in kept if rule.startswith("AwsSolutions-IAM5[Resource::<")
               and rule.endswith(("/uploads/*]", "/uploads/incoming/*]"))}
    assert kept - uploads == KEPT_RULES == set(REASONS)
    assert len(uploads) == 2


def test_the_uploads_wildcard_is_acknowledged_only_on_the_roles_that_hold_it(report: dict) -> None:
    findings = [f for f in report["suppressedViolations"] if f["ruleName"].endswith("/uploads/*]")]
    paths = sorted(c["constructPath"] for f in findings for c in f["violatingConstructs"])
    assert paths == [
        "TvReportPipeline/Api/Role/DefaultPolicy/Resource",
        "TvReportPipeline/QueryActivities/Worker/Role/DefaultPolicy/Resource",
    ]


def test_an_unacknowledged_finding_stops_the_synth() -> None:
    """The plugin is part of every app make_app builds (the CLI's too)."""
    app = make_app({**SKIP_BUNDLING})
    stack = Stack(app, "Probe")
    sqs.Queue(stack, "NoDeadLetterQueue", enforce_ssl=True)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    [plugin] = json.loads((Path(app.outdir) / "validation-report.json").read_text())["pluginReports"]
    assert "AwsSolutions-SQS3" in {v["ruleName"] for v in plugin["violations"]}

