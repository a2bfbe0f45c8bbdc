"""Order submit: create the order at the warehouse exactly once, then record it in the ledger.

The guards, and what each one covers:
1. Powertools idempotency (in the handler) answers a repeated delivery of one submit message from its
   record. Records expire and are deleted when an attempt fails, so nothing below relies on it.
2. The ledger's submit claim (`claim_submit`), a conditional write made before any warehouse call: one
   holder per order at a time, for a lease that outlasts the submit hop's timeout. Any other submitter
   backs off (SubmitClaimHeldError: SQS redelivers later); a holder that dies loses the claim when its
   lease ends. The result is recorded only while the claim is still the holder's.
3. Look up before create: an attempt that follows an earlier claim with no recorded result (the create
   may have landed and the answer been lost) searches the warehouse by its reference first and records
   what it finds.
4. The warehouse's own "already exists" answer, where it refuses a repeated reference (the card does not
   say Scend does): the client resolves it to the existing order.

Then, where the order source keeps it (commercetools' syncInfo), the warehouse's order id is recorded on the
source order. After the ledger, so the order is at the warehouse whatever happens to that write: a
transient failure fails the record and its redelivery (answered "already submitted") records it again; a
refusal opens an exception for operations, with the submit message archived to replay to order-submit.
The replay finds the order submitted in the ledger, so it re-attempts only the write to the source order
(never a second warehouse order) and closes the exception once it is recorded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from shared.errors import PermanentError, SubmitCancelledError
from shared.latency import record_stage_latency
from shared.models.messages import SubmitMessage
from shared.models.order import WarehouseOrderRef
from shared.runtime import Runtime
from shared.steps.records import quarantine_message, storable
from shared.stores.ledger import Stage, SubmitClaim

if TYPE_CHECKING:
    from shared.config import ClientConfig

logger = Logger(child=True)

FLOW = "order_submit"
SYNC_FLOW = "order_sync"  # the warehouse id written back to the source order


def submit_order(message: SubmitMessage, rt: Runtime) -> dict[str, Any]:
    """Returns what was done; PermanentError and TransientError propagate to the handler."""
    now = rt.clock.now()
    key = message.order_key
    claim = _claim(message, rt, now)
    if not isinstance(claim, SubmitClaim):
        return claim
    try:
        ref, done = _submit_and_record(message, rt, claim)
    except Exception:
        # This holder makes no more calls: hand the claim over now rather than at the lease's end. The
        # attempt stays counted, so the next one looks the order up before creating it.
        _release(rt, key, claim)
        raise
    _record_at_source(rt, message, ref.warehouse_order_id)
    before = claim.previous
    record_stage_latency("submit", before.timestamps.get("released") if before else None, done)
    if before is not None and before.stage == Stage.QUARANTINED:
        rt.exceptions.resolve(FLOW, key, by=FLOW, now=done)
    logger.info(
        "order at warehouse",
        extra={
            "order_key": key,
            "warehouse_order_id": ref.warehouse_order_id,
            "created_by_us": ref.created,
            "looked_up_first": claim.maybe_at_warehouse,
        },
    )
    return {"outcome": "created" if ref.created else "found", "warehouse_order_id": ref.warehouse_order_id}


def lease_seconds(config: ClientConfig) -> float:
    """How long a submit's claim lasts (config `retries.submit_lease_seconds`)."""
    return float(config.retries.submit_lease_seconds)


def _claim(message: SubmitMessage, rt: Runtime, now: datetime) -> SubmitClaim | dict[str, Any]:
    """The claim, or the outcome when there is nothing to send; SubmitClaimHeldError propagates (back off)."""
    key = message.order_key
    try:
        claim = rt.ledger.claim_submit(
            key,
            owner=uuid.uuid4().hex,
            now=now,
            lease_seconds=lease_seconds(rt.config),
            client_reference=message.client_reference,
        )
    except SubmitCancelledError:
        # The cancellation saw no attempt under way and settled it as cancelled before submit.
        logger.info("order cancelled before submit; not sent", extra={"order_key": key})
        return {"outcome": "cancelled_before_submit", "warehouse_order_id": None}
    if isinstance(claim, SubmitClaim):
        return claim
    rt.ledger.count_duplicate(key, now)
    # An earlier attempt's write may have failed (transiently, or refused and now replayed).
    if claim.warehouse_order_id and _record_at_source(rt, message, claim.warehouse_order_id):
        rt.exceptions.resolve(SYNC_FLOW, key, by=SYNC_FLOW, now=rt.clock.now())
    return {"outcome": "already_submitted", "warehouse_order_id": claim.warehouse_order_id}


def _submit_and_record(message: SubmitMessage, rt: Runtime, claim: SubmitClaim) -> tuple[WarehouseOrderRef, datetime]:
    """Find (after an unrecorded earlier claim) or create the order, then record it under the claim."""
    key = message.order_key
    existing = rt.order_target.find_order(message.client_reference) if claim.maybe_at_warehouse else None
    if existing is not None:
        ref = existing
        logger.info(
            "order found at warehouse on retry; not created again",
            extra={"order_key": key, "warehouse_order_id": ref.warehouse_order_id},
        )
    else:
        ref = rt.order_target.create_order(message.order, message.client_reference, message.courier_service)
    done = rt.clock.now()
    rt.archive.put(
        order_key=key,
        kind="warehouse-order",
        now=done,
        body={"request": message.model_dump(mode="json"), "result": ref.model_dump(mode="json")},
    )
    ordered: dict[str, Decimal] = {}
    for line in message.order.lines:
        ordered[line.sku] = ordered.get(line.sku, Decimal(0)) + line.quantity
    rt.ledger.record_submitted(
        key,
        warehouse_order_id=ref.warehouse_order_id,
        client_reference=ref.client_reference,
        created=ref.created,
        now=done,
        ordered=ordered,
        location=message.order.location,
        claim=claim,
    )
    return ref, done


def _record_at_source(rt: Runtime, message: SubmitMessage, warehouse_order_id: str) -> bool:
    """The warehouse id on the source order, where the source keeps one: whether it was recorded now.

    TransientError propagates (retried). A refusal is an exception owned by its reason's team, replayable:
    the message is archived (it holds the customer's address) and replays to order-submit, where the
    ledger's claim answers "already submitted" and only this write is tried again.
    """
    recorder = rt.warehouse_id_recorder
    if recorder is None:
        return False
    try:
        recorder.record_warehouse_order(message.source_id, warehouse_order_id, as_read=message.order)
    except PermanentError as error:
        quarantine_message(
            rt,
            flow=SYNC_FLOW,
            business_key=message.order_key,
            body=message.model_dump(mode="json"),
            queue="order-submit",
            reason=error.reason,
            detail=storable(
                f"the order is at the warehouse as {warehouse_order_id}, but its id was not recorded on the "
                f"source order: {error.detail}"
            ),
            order_key=message.order_key,
        )
        logger.warning(
            "warehouse id not recorded at the source",
            extra={"order_key": message.order_key, "reason_code": error.reason.value, "detail": error.detail},
        )
        return False
    return True


def _release(rt: Runtime, key: str, claim: SubmitClaim) -> None:
    """Best effort: if this write fails too, the lease still ends on its own."""
    try:
        rt.ledger.release_submit(key, claim, rt.clock.now())
    except Exception:  # noqa: BLE001 - the attempt's own error is the one to raise
        logger.warning(
            "could not give the submit claim up; it ends with its lease",
            extra={"order_key": key, "lease_until": claim.lease_until.isoformat()},
        )
