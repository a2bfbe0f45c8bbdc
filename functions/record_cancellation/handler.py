"""Cancellation task: records the outcome in the ledger; a refusal opens an exception owned by operations."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.models.messages import CancelState
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.cancellation import record

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = record(CancelState.model_validate(event), runtime())
    metrics.add_metric(name=f"Cancel_{result.outcome}", unit=MetricUnit.Count, value=1)
    return result.model_dump(mode="json")
