"""What the shared tracer may put into X-Ray (kept 30 days, out of DELETE's reach)."""
from __future__ import annotations

from aws_lambda_powertools import Tracer

from tvreport import observability


def test_only_aws_sdk_calls_are_traced_not_http_paths_that_name_shows() -> None:
    # httpx subsegments keep each request's path (Rotten Tomatoes: /tv/<title slug>).
    assert observability.TRACED_MODULES == ("botocore",)
    assert Tracer._config["patch_modules"] == ("botocore",)

