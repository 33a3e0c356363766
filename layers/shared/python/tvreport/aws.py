"""boto3 clients made lazily, once per container (never at import time), so moto and
the local runner's AWS_ENDPOINT_URL stand in without patching."""
from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str):
    return boto3.client(service, config=_CONFIG)


@cache
def table(name: str):
    return boto3.resource("dynamodb", config=_CONFIG).Table(name)


def reset() -> None:
    """Forget cached clients (tests switch between moto contexts)."""
    client.cache_clear()
    table.cache_clear()
