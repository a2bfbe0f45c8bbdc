"""Consumes validated orders from order-submit and creates each at the warehouse exactly once."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.errors import PermanentError, SubmitClaimHeldError
from shared.models.messages import SubmitMessage
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.order_submit import submit_order
from shared.steps.records import accept_or_quarantine, quarantine_message
from shared.stores.ledger import Stage
from shared.topology import table_env

logger = hop_logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def _count_replay(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this when it answers from the idempotency store: a duplicate was suppressed."""
    metrics.add_metric(name="SubmitDuplicateSuppressed", unit=MetricUnit.Count, value=1)
    return response


persistence = DynamoDBPersistenceLayer(table_name=os.environ.get(table_env("idempotency"), "idempotency"))
idempotency = IdempotencyConfig(
    event_key_jmespath="[client, source, source_id]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=7 * 24 * 3600,
    response_hook=_count_replay,
)


@idempotent_function(data_keyword_argument="message", persistence_store=persistence, config=idempotency)
def submit(message: dict[str, Any]) -> dict[str, Any]:
    """Only successes are remembered: an exception deletes the record, so a fixed order can be replayed."""
    return submit_order(SubmitMessage.model_validate(message), runtime())


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    rt = runtime()
    message = accept_or_quarantine(
        rt, body=record.body, message_id=record.message_id, model=SubmitMessage, flow="order_submit",
        attributes=record.raw_event.get("messageAttributes"),
    )
    if message is None:
        return "quarantined"
    try:
        result = submit(message=message.model_dump(mode="json"))
    except SubmitClaimHeldError:
        # Another submit holds the order: this record fails and SQS redelivers it after the visibility timeout
        # (longer than the lease), not a quarantine.
        metrics.add_metric(name="SubmitBackedOff", unit=MetricUnit.Count, value=1)
        raise
    except PermanentError as error:
        now = rt.clock.now()
        # The message holds the customer's address: the archive keeps it as received, the inbox points at it.
        quarantine_message(
            rt, flow="order_submit", business_key=message.order_key, body=record.body,
            queue="order-submit", reason=error.reason, detail=error.detail, order_key=message.order_key,
            supersede=True,
        )
        rt.ledger.set_stage(message.order_key, Stage.QUARANTINED, now, reason=error.reason.value)
        logger.warning("warehouse refused order", extra={"order_key": message.order_key,
                                                         "reason_code": error.reason.value, "detail": error.detail})
        return "quarantined"
    metrics.add_metric(name=f"Submit_{result['outcome']}", unit=MetricUnit.Count, value=1)
    return str(result["outcome"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
