"""Despatch and tracking back: poll the warehouse's parcels, write each to the source order once.

The write-back is the source's own sequence (its ShipmentTarget.write_shipment; Cin7 Core's is described
there). The ledger keeps, per parcel, the progress token the target claimed before its first write, so a
write cut short is resumed on the same record, never duplicated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from shared.errors import PermanentError
from shared.flows.shipments import ShipmentOutcome, decide_shipment, retry_delay_minutes
from shared.latency import record_stage_latency
from shared.models import ReasonCode, owner_of
from shared.models.feed import Rejected
from shared.models.messages import ShipmentMessage
from shared.models.shipment import Shipment
from shared.runtime import Runtime
from shared.steps.polling import poll_routed
from shared.steps.records import quarantine_with_replay
from shared.stores.exceptions import ExceptionStatus

logger = Logger(child=True)

FLOW = "shipment_writeback"


class WritebackResult(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    FAILED = "failed"


def poll_despatches(rt: Runtime) -> dict[str, Any]:
    """Parcels changed since the cursor go to the write-back queue; unreadable rows are quarantined, and
    parcels already written back (most rows the overlap window lists again) are not sent again."""
    feed = f"{rt.shipment_source.name}.shipments"  # the warehouse's type names its cursor ("scend.shipments")
    seen_up_to = rt.cursors.get(feed)  # parcels re-listed by the overlap window were noted by an earlier poll
    applied = _Applied(rt)
    counts, window = poll_routed(
        rt,
        feed=feed,
        overlap_minutes=rt.config.shipments.poll_overlap_minutes,
        first_lookback=timedelta(days=2),
        read=lambda since: applied.read(rt.shipment_source.shipments_since(since)),
        stamp=lambda s: s.updated_at,
        route=lambda s: (
            None
            if s in applied
            else (
                "shipment-writeback",
                _despatched(
                    rt, s, applied.orders.get(s.client_reference), note=seen_up_to is None or s.updated_at > seen_up_to
                ),
            )
        ),
        unreadable_queue="shipment-writeback",
        flow=FLOW,
        unreadable_kind="warehouse-parcel-unreadable",
    )
    result: dict[str, Any] = {"enqueued": counts.get("shipment-writeback", 0), **window, "applied": len(applied.keys)}
    return result


class _Applied:
    """Listed parcels the source order already carries, found with two ledger reads per 100 rows.

    A parcel stays in the warehouse's changed-since listing for the poll's overlap window, so most polls
    list again parcels an earlier poll sent and the write-back applied: sent on, each cost a write-back
    invocation and two ledger reads only to be answered "already applied". A written-back parcel is final
    (apply_shipment never writes it twice), so leaving it unsent changes nothing at the source."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.keys: set[tuple[str, str]] = set()  # (client reference, parcel id)
        self.orders: dict[str, str] = {}  # client reference -> order key, for the references the ledger knows

    def read(self, rows: Iterable[Shipment | Rejected]) -> list[Shipment | Rejected]:
        """The listing, kept whole (every row still moves the cursor), with the applied parcels noted."""
        listed = list(rows)
        parcels = [row for row in listed if isinstance(row, Shipment)]
        if not parcels:
            return listed
        self.orders = self.rt.ledger.find_many_by_reference(p.client_reference for p in parcels)
        entries = self.rt.ledger.get_many(self.orders.values())
        for parcel in parcels:
            entry = entries.get(self.orders.get(parcel.client_reference, ""))
            if entry is not None and parcel.parcel_id in entry.shipments:
                self.keys.add((parcel.client_reference, parcel.parcel_id))
        return listed

    def __contains__(self, parcel: Shipment) -> bool:
        return (parcel.client_reference, parcel.parcel_id) in self.keys


def _despatched(rt: Runtime, shipment: Shipment, order_key: str | None, *, note: bool) -> ShipmentMessage:
    """Note the despatch in the ledger (the stall monitor times the write-back from it), then the message,
    with the order key when the ledger knows the reference."""
    if note:
        rt.ledger.note_despatched(
            shipment.client_reference,
            parcel_id=shipment.parcel_id,
            despatched_at=shipment.despatched_at,
            order_key=order_key,
        )
    return ShipmentMessage(client=rt.config.client, trigger="poll", shipment=shipment, order_key=order_key)


def apply_shipment(message: ShipmentMessage, rt: Runtime) -> WritebackResult:
    """Write one parcel back to its source order; quarantine what must not be applied."""
    shipment = message.shipment
    now = rt.clock.now()
    order_key = message.order_key or rt.ledger.find_by_reference(shipment.client_reference)
    if order_key is None:
        _quarantine(
            rt,
            message,
            ReasonCode.SHIPMENT_ORDER_UNKNOWN,
            f"parcel {shipment.parcel_id} is for {shipment.client_reference}, which the ledger does not know",
        )
        return WritebackResult.QUARANTINED
    entry = rt.ledger.get(order_key)
    assert entry is not None
    decision = decide_shipment(shipment, entry.ordered, entry.applied_parcels())
    if decision.outcome == ShipmentOutcome.ALREADY_APPLIED:
        return WritebackResult.DUPLICATE
    if decision.outcome == ShipmentOutcome.QUARANTINE:
        assert decision.reason is not None
        _quarantine(rt, message, decision.reason, decision.detail, order_key=order_key)
        return WritebackResult.QUARANTINED

    parcel_key = rt.archive.put(
        order_key=order_key, kind="warehouse-parcel", body=shipment.model_dump(mode="json"), now=now
    )
    try:
        _write_back(rt, order_key, shipment, entry.writeback_tasks, entry.location, entry.writeback_tokens)
    except PermanentError as error:
        _writeback_failed(rt, message, error, order_key, parcel_key)
        return WritebackResult.FAILED
    record = {
        "lines": {line.sku: line.quantity for line in shipment.lines},
        "tracking_numbers": list(shipment.tracking_numbers),
        "tracking_url": shipment.tracking_url,
        "carrier": shipment.carrier,
        "service": shipment.service,
        "despatched_at": shipment.despatched_at.isoformat(),
        "applied_at": rt.clock.now().isoformat(),
    }
    # Outbound evidence: what was written to the source order for this parcel (lines, carrier, tracking).
    rt.archive.put(
        order_key=order_key,
        kind="source-writeback",
        now=rt.clock.now(),
        body={"parcel_id": shipment.parcel_id, **record},
    )
    if rt.ledger.record_shipment(
        order_key, parcel_id=shipment.parcel_id, record=record, closes_order=decision.closes_order, now=rt.clock.now()
    ):
        record_stage_latency("writeback", shipment.despatched_at, rt.clock.now())
        if not entry.shipments:  # the order's first parcel: at the warehouse -> shipped
            record_stage_latency("ship", entry.timestamps.get("submitted"), shipment.despatched_at)
    rt.exceptions.resolve(FLOW, message.business_key, by=f"{FLOW}:{message.trigger}", now=rt.clock.now())
    logger.info(
        "parcel written back",
        extra={"order_key": order_key, "parcel_id": shipment.parcel_id, "closes_order": decision.closes_order},
    )
    return WritebackResult.APPLIED


def _write_back(
    rt: Runtime,
    order_key: str,
    shipment: Shipment,
    claimed: dict[str, str],
    location: str,
    known: tuple[str, ...] = (),
) -> None:
    """The target's own write sequence, resumable: the token it claims for a parcel is in the ledger before
    its first write, so a retry resumes where the last attempt stopped. `known` are the tokens the order's
    read at intake named, so a first attempt can write without reading the order again."""
    rt.shipment_target.write_shipment(
        order_key.split("#", 1)[1],
        shipment,
        location=location,
        progress=claimed,
        remember=lambda token: rt.ledger.claim_task(order_key, parcel_id=shipment.parcel_id, task_id=token),
        known=known,
    )


def _quarantine(
    rt: Runtime, message: ShipmentMessage, reason: ReasonCode, detail: str, order_key: str | None = None
) -> None:
    quarantine_with_replay(
        rt,
        flow=FLOW,
        business_key=message.business_key,
        message=message,
        body=message.shipment.model_dump(mode="json"),
        kind="warehouse-parcel-quarantined",
        queue="shipment-writeback",
        reason=reason,
        detail=detail,
        order_key=order_key,
    )
    logger.warning(
        "parcel quarantined",
        extra={"reason_code": reason.value, "parcel_id": message.shipment.parcel_id, "detail": detail},
    )


def _writeback_failed(
    rt: Runtime, message: ShipmentMessage, error: PermanentError, order_key: str, payload_key: str
) -> None:
    """The source refused the write-back: keep it, retry on a schedule with backoff, escalate after N."""
    now = rt.clock.now()
    settings = rt.config.shipments.writeback
    exception_id = rt.exceptions.quarantine(
        flow=FLOW,
        business_key=message.business_key,
        reasons=[ReasonCode.WRITEBACK_REJECTED],
        team=owner_of(ReasonCode.WRITEBACK_REJECTED),
        detail=error.detail,
        now=now,
        payload_key=payload_key,
        replay_queue="shipment-writeback",
        replay_message=message.model_copy(update={"trigger": "replay"}).model_dump(mode="json"),
    )
    record = rt.exceptions.get(exception_id)
    assert record is not None
    escalate = record.attempts >= settings.alert_after_attempts
    delay = retry_delay_minutes(record.attempts, settings.backoff_base_minutes, settings.backoff_max_minutes)
    rt.exceptions.schedule_retry(exception_id, at=None if escalate else now + timedelta(minutes=delay))
    logger.warning(
        "write-back refused",
        extra={
            "order_key": order_key,
            "parcel_id": message.shipment.parcel_id,
            "attempts": record.attempts,
            "escalated": escalate,
            "detail": error.detail,
        },
    )


def retry_due_writebacks(rt: Runtime) -> dict[str, int]:
    """Scheduled: re-enqueue every failed write-back whose next retry time has come."""
    now = rt.clock.now()
    due = [
        e
        for e in rt.exceptions.list(status=ExceptionStatus.RETRYING)
        if e.flow == FLOW and e.next_retry_at is not None and datetime.fromisoformat(e.next_retry_at) <= now
    ]
    messages = [ShipmentMessage.model_validate(e.replay_message) for e in due if e.replay_message]
    rt.send_batch("shipment-writeback", list(messages))
    for record in due:
        rt.exceptions.mark_requeued(record.id)
    escalated = sum(
        1
        for e in rt.exceptions.list(status=ExceptionStatus.OPEN)
        if e.flow == FLOW and e.reason == ReasonCode.WRITEBACK_REJECTED
    )
    return {"requeued": len(messages), "escalated_open": escalated}
