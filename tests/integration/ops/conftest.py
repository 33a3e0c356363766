"""The real pipeline template deployed once into a moto server (no engine, no
sandbox): the tests create sessions, ledger items and queue messages with the
layer's own code, then run `python -m ops` against that endpoint."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.deploy import DeployedStack, deploy, synthesize
from local.moto_aws import MotoAws, start_moto
from tvreport import aws

STACK_NAME = "TvReportPipeline"
CHUNK_SIZE = 4  # small chunks: a few shows make a multi-chunk session


def _build(app: Any) -> None:
    import app as cdk_app
    from stacks.config import PipelineConfig
    from stacks.pipeline_stack import PipelineStack

    # The local runner's variant: moto's CloudFormation cannot create secrets.
    for key, value in cdk_app.project_context(create_secrets=False, chunk_size=CHUNK_SIZE).items():
        app.node.set_context(key, value)
    PipelineStack(app, STACK_NAME, config=PipelineConfig.from_context(app.node))


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MotoAws, DeployedStack]]:
    assembly = synthesize(_build, tmp_path_factory.mktemp("ops") / "cdk.out", context={})
    moto = start_moto()
    try:
        yield moto, deploy(moto, Path(assembly), STACK_NAME)
    finally:
        moto.stop()


@pytest.fixture
def local_aws(deployed: tuple[MotoAws, DeployedStack],
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MotoAws, DeployedStack]]:
    """The layer's clients (tvreport.aws) pointed at the moto server, as `ops` does."""
    moto, stack = deployed
    for key, value in moto.worker_env().items():
        monkeypatch.setenv(key, value)
    aws.reset()
    _drain_queues(moto, stack)
    yield moto, stack
    aws.reset()


def _drain_queues(moto: MotoAws, stack: DeployedStack) -> None:
    """Each test starts with empty queues (PurgeQueue is allowed once a minute)."""
    sqs = moto.client("sqs")
    for url in stack.queues.values():
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
