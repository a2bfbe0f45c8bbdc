"""Order submit: create the order at the warehouse exactly once, then record it in the ledger.

Three guards, each covering a gap in the others: Powertools idempotency (in the handler) stops two
concurrent deliveries of one message; the ledger's attempt counter makes every retry search the
warehouse before creating, so a timeout after a successful create never makes a second order; and
the warehouse's own unique client reference refuses a duplicate that slips past both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from shared.errors import SubmitCancelledError
from shared.latency import record_stage_latency
from shared.models.messages import SubmitMessage
from shared.runtime import Runtime
from shared.stores.ledger import AT_WAREHOUSE, Stage

logger = Logger(child=True)

FLOW = "order_submit"


def submit_order(message: SubmitMessage, rt: Runtime) -> dict[str, Any]:
    """Returns what was done; PermanentError and TransientError propagate to the handler."""
    now = rt.clock.now()
    key = message.order_key
    try:
        before = rt.ledger.begin_submit(key, now, client_reference=message.client_reference)
    except SubmitCancelledError:
        # The cancellation saw no attempt under way and settled it as cancelled before submit.
        logger.info("order cancelled before submit; not sent", extra={"order_key": key})
        return {"outcome": "cancelled_before_submit", "warehouse_order_id": None}
    if before is not None and before.stage in AT_WAREHOUSE and before.warehouse_order_id:
        rt.ledger.count_duplicate(key, now)
        return {"outcome": "already_submitted", "warehouse_order_id": before.warehouse_order_id}

    previous_attempts = before.submit_attempts if before else 0
    existing = rt.order_target.find_order(message.client_reference) if previous_attempts else None
    if existing is not None:
        ref = existing
        logger.info("order found at warehouse on retry; not created again",
                    extra={"order_key": key, "warehouse_order_id": ref.warehouse_order_id})
    else:
        ref = rt.order_target.create_order(message.order, message.client_reference, message.courier_service)
    done = rt.clock.now()
    rt.archive.put(order_key=key, kind="warehouse-order", now=done, body={
        "request": message.model_dump(mode="json"), "result": ref.model_dump(mode="json")})
    ordered: dict[str, Decimal] = {}
    for line in message.order.lines:
        ordered[line.sku] = ordered.get(line.sku, Decimal(0)) + line.quantity
    rt.ledger.record_submitted(
        key, warehouse_order_id=ref.warehouse_order_id, client_reference=ref.client_reference,
        created=ref.created, now=done, ordered=ordered, location=message.order.location,
    )
    record_stage_latency("submit", before.timestamps.get("released") if before else None, done)
    if before is not None and before.stage == Stage.QUARANTINED:
        rt.exceptions.resolve(FLOW, key, by=FLOW, now=done)
    logger.info("order at warehouse", extra={"order_key": key, "warehouse_order_id": ref.warehouse_order_id,
                                             "created": ref.created, "previous_attempts": previous_attempts})
    return {"outcome": "created" if ref.created else "found", "warehouse_order_id": ref.warehouse_order_id}
