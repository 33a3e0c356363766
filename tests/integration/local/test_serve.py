"""`python -m local serve --info-file`: the file says where the API and the
embedded AWS are, with the stack's outputs, and each of them answers there."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx

from .conftest import PROJECT_ROOT


def test_serve_writes_the_info_file_and_prints_the_aws_endpoint(tmp_path: Path) -> None:
    info_file = tmp_path / "info.json"
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    env.pop("OPENAI_API_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "local", "serve", "--viewer", "light", "--info-file", str(info_file)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not info_file.is_file() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert info_file.is_file(), f"no info file; exit {server.poll()}"
        time.sleep(0.2)  # written in one call; let it land
        info = json.loads(info_file.read_text())

        assert set(info) >= {"apiUrl", "awsEndpointUrl", "outputs"}
        outputs = info["outputs"]
        assert {"ApiUrl", "SessionsTableName", "ViewingTableName", "ShowCacheTableName", "UploadsBucketName"} <= set(outputs)
        assert httpx.get(f"{info['apiUrl']}/openapi.json", timeout=30).status_code == 200

        aws = {"endpoint_url": info["awsEndpointUrl"], "region_name": info["region"],
               "aws_access_key_id": "someone", "aws_secret_access_key": "x"}
        tables = boto3.client("dynamodb", **aws).list_tables()["TableNames"]
        assert {outputs["SessionsTableName"], outputs["ViewingTableName"], outputs["ShowCacheTableName"]} <= set(tables)
        boto3.client("s3", **aws).head_bucket(Bucket=outputs["UploadsBucketName"])
        sqs = boto3.client("sqs", **aws)
        assert info["queues"] and all(sqs.get_queue_attributes(QueueUrl=url) for url in info["queues"].values())
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=60)

    assert server.returncode == 0, stderr[-2000:]
    assert f"AWS_ENDPOINT_URL={info['awsEndpointUrl']}" in stdout and "aws dynamodb list-tables" in stdout
