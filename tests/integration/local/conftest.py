"""One moto server and one deploy of the small app for the whole session
(synthesis takes several seconds)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.deploy import DeployedStack, deploy, synthesize
from local.moto_aws import MotoAws, start_moto
from tests.integration.local import small_app

PROJECT_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class SmallDeployment:
    aws: MotoAws
    stack: DeployedStack
    record_dir: Path
    handler_dirs: dict[str, Path]
    run_dir: Path

    def recorded(self, kind: str) -> list[dict]:
        """Events a handler of `kind` (queue, stream, schedule, api) has received, in order."""
        return [json.loads(path.read_text()) for path in sorted(self.record_dir.glob(f"{kind}-*.json"))]

    def clear_records(self) -> None:
        for path in self.record_dir.glob("*.json"):
            path.unlink()


@pytest.fixture(scope="session")
def small_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallDeployment]:
    root = tmp_path_factory.mktemp("small")
    record_dir = root / "records"
    record_dir.mkdir()
    dirs = small_app.write_handlers(root / "src")
    assembly = synthesize(small_app.build(dirs, record_dir), root / "cdk.out", context={})
    aws = start_moto()
    try:
        stack = deploy(aws, assembly, small_app.STACK_NAME)
        yield SmallDeployment(aws, stack, record_dir, dirs, root / "run")
    finally:
        aws.stop()


@pytest.fixture
def deployment(small_deployment: SmallDeployment) -> SmallDeployment:
    small_deployment.clear_records()
    return small_deployment
