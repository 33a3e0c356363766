"""Watchdog: runs on a schedule."""
from datetime import timedelta

from aws_lambda_powertools.utilities.typing import LambdaContext

from tvreport import wiring
from tvreport.observability import logger, metrics, tracer
from tvreport.stages import watchdog

deps = wiring.tracker_deps()
stall_timeout = timedelta(seconds=wiring.pipeline().stall_timeout_seconds)
purge_after = timedelta(seconds=wiring.pipeline().purge_delay_seconds)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)  # no report, no session in X-Ray
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return watchdog.sweep(deps, stall_timeout, purge_after=purge_after)
