"""Consumes products from product-sync; creates or updates each at the warehouse and releases held orders."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.models import ReasonCode, Team
from shared.models.messages import ProductMessage
from shared.runtime import runtime
from shared.steps.catalogue import FLOW, sync_product

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    rt = runtime()
    try:
        message = ProductMessage.model_validate_json(record.body)
    except ValidationError as error:
        rt.exceptions.quarantine(
            flow=FLOW, business_key=f"message#{record.message_id}", reasons=[ReasonCode.PAYLOAD_INVALID],
            team=Team.OPERATIONS, detail=f"product message invalid: {error.errors()[:3]}", now=rt.clock.now(),
        )
        return "quarantined"
    result = sync_product(message, rt)
    metrics.add_metric(name=f"ProductSync_{result.value}", unit=MetricUnit.Count, value=1)
    return result.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
