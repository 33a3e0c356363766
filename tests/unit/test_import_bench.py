"""The import bench sees only what a function ships: its layers' requirements and the runtime's boto3."""
import os
from pathlib import Path

import pytest

from local.bench.imports import _import_once, shipped_distributions, unshipped_modules

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "layers/dependencies/base/requirements.txt"
CRAWL = ROOT / "layers/dependencies/crawl/requirements.txt"


def test_a_layer_ships_its_requirements_what_they_require_and_the_runtime_boto3():
    shipped = shipped_distributions([BASE, CRAWL])
    assert {"httpx", "httpcore", "h11", "selectolax", "pydantic", "pydantic-core", "aws-xray-sdk"} <= shipped
    assert {"boto3", "botocore", "s3transfer"} <= shipped
    assert not {"rich", "click", "pygments", "moto", "pytest"} & shipped  # httpx's CLI extra is not asked for


def test_a_function_without_the_crawl_layer_cannot_import_httpx():
    assert "httpx" in unshipped_modules([BASE])
    assert "httpx" not in unshipped_modules([BASE, CRAWL])


def test_the_child_interpreter_refuses_what_is_not_shipped_and_imports_what_is():
    env = dict(os.environ)
    blocked = unshipped_modules([BASE, CRAWL])
    assert _import_once([], ["httpx"], env, blocked) > 0  # httpx's optional CLI import falls back quietly
    with pytest.raises(RuntimeError, match="No module named 'rich'"):
        _import_once([], ["rich"], env, blocked)
