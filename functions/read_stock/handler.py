"""Scheduled: reads every stock figure at the master and enqueues them for the pusher, a page of SKUs at a time."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.stock import read_stock

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = read_stock(runtime())
    metrics.add_metric(name="StockSkusRead", unit=MetricUnit.Count, value=int(result.get("skus_read", 0)))
    return result
