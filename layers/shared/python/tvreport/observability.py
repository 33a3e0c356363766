"""One place for the Powertools logger, tracer and metrics every stage uses.

The service name comes from POWERTOOLS_SERVICE_NAME (set per function by CDK)."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
