#!/usr/bin/env python3
"""CDK app: one `TvReportPipeline` stack. Does nothing on the network at synth.

With the virtualenv active (cdk.json runs `python3 app.py`):

    npx aws-cdk@2.1148.1 synth                          # builds the dependency layer (pip, no Docker)
    npx aws-cdk@2.1148.1 synth -c skip_bundling=true    # template only, no pip
    npx aws-cdk@2.1148.1 bootstrap                      # once per account/region
    npx aws-cdk@2.1148.1 deploy                         # then set the secrets (see outputs)

Options come from CDK context (`-c key=value`, or cdk.json's context), each with
its default in stacks/config.py;
`-c create_secrets=false` references existing secrets (the local runner's variant).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The stack spells environment keys with the same module the Lambda runtime
# imports from the shared layer (/opt/python there, layers/shared/python here).
PROJECT_ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(PROJECT_ROOT / "layers" / "shared" / "python"))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from stacks.config import SKIP_BUNDLING, PipelineConfig  # noqa: E402
from stacks.pipeline_stack import PipelineStack  # noqa: E402

STACK_NAME = "TvReportPipeline"
BUNDLING_STACKS = "aws:cdk:bundling-stacks"  # cx_api.BUNDLING_STACKS


def deployment_environment() -> cdk.Environment | None:
    """The CLI's account/region when it provides them, else environment-agnostic
    (no lookup of the account is ever made here)."""
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    if account and region:
        return cdk.Environment(account=account, region=region)
    return None


def project_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (options and feature flags) plus `overrides`.

    The CLI passes cdk.json's context to the app itself; an in-process synth
    (tests, the local runner) passes this so it builds the same template, e.g.
    `build_app(project_context(**{"aws:cdk:bundling-stacks": []}))`."""
    cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    return {**cdk_json.get("context", {}), **overrides}


def make_app(context: Mapping[str, Any] | None = None) -> cdk.App:
    """An empty app. `context=None` reads the CLI's context (cdk.json and -c)."""
    app = cdk.App() if context is None else cdk.App(context=dict(context))
    # The CLI refuses `-c aws:cdk:bundling-stacks=[]` (reserved prefix), so
    # `cdk synth -c skip_bundling=true` is the way to synthesize without pip.
    if str(app.node.try_get_context(SKIP_BUNDLING)).lower() == "true":
        app.node.set_context(BUNDLING_STACKS, [])
    # Every synth runs cdk-nag's AWS Solutions pack as a policy-validation plugin:
    # an unacknowledged finding stops it with ValidationFailed and writes
    # validation-report.json into the assembly (kept findings: stacks/nag.py).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def build_app(context: Mapping[str, Any] | None = None) -> tuple[cdk.App, PipelineStack]:
    """The app and its stack. `context=None` reads the CLI's context."""
    app = make_app(context)
    config = PipelineConfig.from_context(app.node)
    stack = PipelineStack(app, STACK_NAME, config=config, env=deployment_environment())
    cdk.Tags.of(stack).add("project", "tv-report")
    return app, stack


if __name__ == "__main__":
    cdk_app, _ = build_app()
    cdk_app.synth()
