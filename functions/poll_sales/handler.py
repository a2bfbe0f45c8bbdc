"""Scheduled: lists sales changed since the cursor and enqueues them for intake (missed-webhook net)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.poll_sales import poll_sales

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = poll_sales(runtime())
    metrics.add_metric(name="PollEnqueued", unit=MetricUnit.Count, value=int(result["enqueued"]))
    return result
