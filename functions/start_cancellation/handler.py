"""Consumes cancel requests (any source) and starts one cancellation execution per (client, order)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.models.messages import CancelRequest
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.cancellation import start
from shared.steps.records import accept_or_quarantine

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    rt = runtime()
    request = accept_or_quarantine(rt, body=record.body, message_id=record.message_id, model=CancelRequest,
                                   flow="cancellation", attributes=record.raw_event.get("messageAttributes"))
    if request is None:
        return "quarantined"
    result = start(request, rt)
    metrics.add_metric(name=f"Cancel_{result}", unit=MetricUnit.Count, value=1)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
