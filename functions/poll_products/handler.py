"""Scheduled: lists products changed at the master and enqueues them; flags orders held too long for a SKU."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.catalogue import poll_products

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = poll_products(runtime())
    metrics.add_metric(name="ProductsEnqueued", unit=MetricUnit.Count, value=int(result["enqueued"]))
    metrics.add_metric(name="OrdersHeldTooLong", unit=MetricUnit.Count, value=int(result["held_too_long"]))
    return result
