"""Scheduled (every minute): flags stalled and mismatched orders; reports the numbers the alarms watch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.monitors import monitor_orders

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = monitor_orders(runtime())
    # Gauges: the alarms stay in ALARM while any order is stalled or mismatched, and clear when none is.
    metrics.add_metric(name="StalledOrders", unit=MetricUnit.Count, value=result["stalled"])
    metrics.add_metric(name="OrderMismatches", unit=MetricUnit.Count, value=result["mismatches_open"])
    metrics.add_metric(name="ExceptionsRaised", unit=MetricUnit.Count, value=result["exceptions_raised"])
    metrics.add_metric(name="MismatchChecks", unit=MetricUnit.Count, value=result["mismatch_checked"])
    return result
