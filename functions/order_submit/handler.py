"""Consumes validated orders from order-submit and creates each at the warehouse exactly once."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from functions.kit import Delivery, queue_hop, shape_of
from shared.errors import PermanentError, SubmitClaimHeldError
from shared.models.messages import SubmitMessage
from shared.runtime import Runtime, runtime
from shared.steps.order_submit import submit_order
from shared.steps.records import quarantine_message
from shared.stores.ledger import Stage
from shared.topology import table_env


def _count_replay(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this when it answers from the idempotency store: a duplicate was suppressed."""
    shape_of(lambda_handler).count("SubmitDuplicateSuppressed")
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


def submit_once(message: SubmitMessage, rt: Runtime) -> dict[str, Any]:
    """The step behind the idempotency record, keyed on the message's (client, source, source id)."""
    return submit(message=message.model_dump(mode="json"))


def refused_or_held(delivery: Delivery) -> dict[str, Any] | None:
    """A held claim fails the record for redelivery; a warehouse refusal quarantines the order (None)."""
    message: SubmitMessage = delivery.message
    rt = delivery.rt
    try:
        return delivery.run()
    except SubmitClaimHeldError:
        # Another submit holds the order: this record fails and SQS redelivers it after the visibility timeout
        # (longer than the lease), not a quarantine.
        delivery.hop.count("SubmitBackedOff")
        raise
    except PermanentError as error:
        now = rt.clock.now()
        # The message holds the customer's address: the archive keeps it as received, the inbox points at it.
        quarantine_message(
            rt,
            flow="order_submit",
            business_key=message.order_key,
            body=delivery.record.body,
            queue="order-submit",
            reason=error.reason,
            detail=error.detail,
            order_key=message.order_key,
            supersede=True,
        )
        rt.ledger.set_stage(message.order_key, Stage.QUARANTINED, now, reason=error.reason.value)
        delivery.hop.logger.warning(
            "warehouse refused order",
            extra={"order_key": message.order_key, "reason_code": error.reason.value, "detail": error.detail},
        )
        return None


lambda_handler = queue_hop(
    SubmitMessage,
    flow="order_submit",
    step=submit_once,
    metric="Submit",
    around=refused_or_held,
    on_invoke=idempotency.register_lambda_context,
)
