"""Consumes validated orders from order-submit and creates each at the warehouse exactly once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions.kit import Delivery, queue_hop, shape_of
from shared.errors import PermanentError, SubmitClaimHeldError
from shared.models.messages import SubmitMessage
from shared.runtime import Runtime, runtime
from shared.steps.order_submit import submit_order
from shared.steps.records import quarantine_message, replay_of
from shared.stores.ledger import Stage
from shared.topology import table_env

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Read at init, as the function's environment is; the store itself is built on the first invocation.
IDEMPOTENCY_TABLE = os.environ.get(table_env("idempotency"), "idempotency")


def _count_replay(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this when it answers from the idempotency store: a duplicate was suppressed."""
    shape_of(lambda_handler).count("SubmitDuplicateSuppressed")
    return response


def submit(message: dict[str, Any]) -> dict[str, Any]:
    """Only successes are remembered: an exception deletes the record, so a fixed order can be replayed."""
    return submit_order(SubmitMessage.model_validate(message), runtime())


class _Idempotency:
    """Powertools idempotency around `submit`, built once on first use: its package imports boto3 and its
    DynamoDB store builds a client, which no hop does at import (the cold start pays only when it submits)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[IdempotencyConfig, Callable[..., dict[str, Any]]] | None = None

    def _build(self) -> tuple[IdempotencyConfig, Callable[..., dict[str, Any]]]:
        with self._lock:
            if self._built is None:
                from aws_lambda_powertools.utilities.idempotency import (
                    DynamoDBPersistenceLayer,
                    IdempotencyConfig,
                    idempotent_function,
                )

                config = IdempotencyConfig(
                    event_key_jmespath="[client, source, source_id]",
                    raise_on_no_idempotency_key=True,
                    expires_after_seconds=7 * 24 * 3600,
                    response_hook=_count_replay,
                )
                import boto3

                # A client of the default session, which the hop's other clients share: without one,
                # Powertools builds its own boto3 session and loads botocore's endpoint data again.
                persistence = DynamoDBPersistenceLayer(
                    table_name=IDEMPOTENCY_TABLE, boto3_client=boto3.client("dynamodb")
                )
                remembered = idempotent_function(
                    data_keyword_argument="message", persistence_store=persistence, config=config
                )
                self._built = (config, remembered(submit))
            return self._built

    def register(self, context: LambdaContext) -> None:
        """Every invocation: the record's expiry leaves room for this invocation's remaining time."""
        self._build()[0].register_lambda_context(context)

    def submit(self, message: dict[str, Any]) -> dict[str, Any]:
        return self._build()[1](message=message)


idempotency = _Idempotency()


def submit_once(message: SubmitMessage, rt: Runtime) -> dict[str, Any]:
    """The step behind the idempotency record, keyed on the message's (client, source, source id)."""
    return idempotency.submit(message.model_dump(mode="json"))


def _run(delivery: Delivery) -> dict[str, Any]:
    """The step, behind the idempotency record; a replay an operator sent runs the step itself, since the record
    of the order's first, successful submit would answer it unrun (a refused write to the source order would
    never be tried again). The ledger's claim still keeps the order to one creation at the warehouse."""
    if replay_of(delivery.record.raw_event.get("messageAttributes")) is not None:
        return submit_order(delivery.message, delivery.rt)
    result: dict[str, Any] = delivery.run()
    return result


def refused_or_held(delivery: Delivery) -> dict[str, Any] | None:
    """A held claim fails the record for redelivery; a warehouse refusal quarantines the order (None)."""
    message: SubmitMessage = delivery.message
    rt = delivery.rt
    try:
        return _run(delivery)
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
    on_invoke=idempotency.register,
)
