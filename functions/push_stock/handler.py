"""Consumes stock-sync: computes available-to-sell for each message's SKUs and pushes only what changed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.models.stock import StockSyncMessage
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.records import accept_or_quarantine
from shared.steps.stock import FLOW, push_stock

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    rt = runtime()
    message = accept_or_quarantine(rt, body=record.body, message_id=record.message_id, model=StockSyncMessage,
                                   flow=FLOW, attributes=record.raw_event.get("messageAttributes"))
    if message is None:
        return "quarantined"
    outcome = push_stock(message, rt)
    metrics.add_metric(name="StockPushed", unit=MetricUnit.Count, value=outcome.pushed)
    metrics.add_metric(name="StockUnchanged", unit=MetricUnit.Count, value=outcome.unchanged)
    metrics.add_metric(name="StockAwaitingConfirmation", unit=MetricUnit.Count, value=outcome.awaiting_confirmation)
    metrics.add_metric(name="StockPushRejected", unit=MetricUnit.Count, value=outcome.rejected)
    return "pushed"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
