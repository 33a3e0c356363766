"""Dollars per 1,000 sessions from counted requests and durations.

AWS list prices, us-east-1, as of 2025-06 (from memory; not checked online here).
docs/BENCHMARKS.md repeats the table; this is where the figures live."""

from __future__ import annotations

from collections.abc import Mapping

PRICES_AS_OF = "2025-06"
PRICES_USD = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s_x86_64": 0.0000166667,
    "lambda_gb_s_arm64": 0.0000133334,
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KiB chunk
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "secrets_manager_call": 0.05 / 10_000,
    "cloudwatch_logs_gb": 0.50,  # ingestion, per GB
}
LAMBDA_REPORT_LINE_BYTES = 350  # START/END/REPORT lines Lambda adds to every invocation's log


def session_cost(usage: Mapping[str, float], sessions: int, architecture: str = "x86_64") -> dict[str, float]:
    """Per-1,000-session dollars by line and in total, for `usage` summed over `sessions`."""
    scale = 1000 / max(1, sessions)
    lines = {
        "lambda_requests": usage["invocations"] * PRICES_USD["lambda_request"],
        "lambda_compute": usage["gb_s"] * PRICES_USD[f"lambda_gb_s_{architecture}"],
        "sqs": usage["sqs_requests"] * PRICES_USD["sqs_request"],
        "dynamodb": usage["write_units"] * PRICES_USD["dynamodb_write_unit"]
        + usage["read_units"] * PRICES_USD["dynamodb_read_unit"],
        "api_gateway": usage["api_requests"] * PRICES_USD["api_gateway_rest_request"],
        "secrets_manager": usage["secrets_calls"] * PRICES_USD["secrets_manager_call"],
        "cloudwatch_logs": usage["log_bytes"] / 1e9 * PRICES_USD["cloudwatch_logs_gb"],
    }
    per_1000 = {name: round(dollars * scale, 4) for name, dollars in lines.items()}
    per_1000["total"] = round(sum(lines.values()) * scale, 4)
    return per_1000
