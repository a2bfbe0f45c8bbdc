"""Scheduled: re-enqueues failed write-backs whose backoff has elapsed; reports escalated ones as a metric."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.despatch import retry_due_writebacks

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = retry_due_writebacks(runtime())
    metrics.add_metric(name="WritebacksRequeued", unit=MetricUnit.Count, value=result["requeued"])
    # The alarm on this metric pages operations: these write-backs exhausted their automatic retries.
    metrics.add_metric(name="WritebacksEscalated", unit=MetricUnit.Count, value=result["escalated_open"])
    return result
