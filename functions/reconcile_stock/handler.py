"""Scheduled: compares the master's stock at the warehouse location with the warehouse's; dated drift report."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.stock import reconcile_stock

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = reconcile_stock(runtime())
    metrics.add_metric(name="DriftSkus", unit=MetricUnit.Count, value=int(result.get("drift_skus", 0)))
    metrics.add_metric(name="DriftSkusFlagged", unit=MetricUnit.Count, value=int(result.get("flagged", 0)))
    return result
