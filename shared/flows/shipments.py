"""Despatch decisions: may this parcel be applied to the order, and does it complete the order?

Quantities are compared per SKU across every parcel already applied, because a line can be split
across parcels and an order can ship in several. Shipping more than was ordered is never applied:
it means a mis-pick or a mapping error that a person must look at before the customer is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum

from shared.models import ReasonCode
from shared.models.base import Model
from shared.models.shipment import Shipment


class ShipmentOutcome(StrEnum):
    APPLY = "apply"
    ALREADY_APPLIED = "already_applied"
    QUARANTINE = "quarantine"


class ShipmentDecision(Model):
    outcome: ShipmentOutcome
    reason: ReasonCode | None = None
    detail: str = ""
    closes_order: bool = False
    shipped_after: dict[str, Decimal] = {}


def shipped_totals(parcels: Mapping[str, Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """Sum per SKU over the parcels already applied (parcel id -> sku -> quantity)."""
    totals: dict[str, Decimal] = {}
    for lines in parcels.values():
        for sku, quantity in lines.items():
            totals[sku] = totals.get(sku, Decimal(0)) + Decimal(quantity)
    return totals


def is_complete(ordered: Mapping[str, Decimal], shipped: Mapping[str, Decimal]) -> bool:
    """The closing rule: every ordered unit of every line has shipped."""
    return bool(ordered) and all(shipped.get(sku, Decimal(0)) >= quantity for sku, quantity in ordered.items())


def decide_shipment(
    shipment: Shipment,
    ordered: Mapping[str, Decimal],
    applied: Mapping[str, Mapping[str, Decimal]],
) -> ShipmentDecision:
    """Apply, skip as already applied, or quarantine one parcel against what was ordered and shipped."""
    if shipment.parcel_id in applied:
        return ShipmentDecision(
            outcome=ShipmentOutcome.ALREADY_APPLIED,
            detail="parcel already applied",
            closes_order=False,
            shipped_after=shipped_totals(applied),
        )
    before = shipped_totals(applied)
    after = dict(before)
    for line in shipment.lines:
        if line.sku not in ordered:
            return ShipmentDecision(
                outcome=ShipmentOutcome.QUARANTINE,
                reason=ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER,
                detail=f"parcel {shipment.parcel_id} ships SKU {line.sku!r}, which is not on order "
                f"{shipment.client_reference}",
            )
        if line.quantity <= 0:
            return ShipmentDecision(
                outcome=ShipmentOutcome.QUARANTINE,
                reason=ReasonCode.SHIPMENT_OVER_QUANTITY,
                detail=f"parcel {shipment.parcel_id}: quantity {line.quantity} for {line.sku!r} is not positive",
            )
        after[line.sku] = after.get(line.sku, Decimal(0)) + line.quantity
    over = {sku: (after[sku], ordered[sku]) for sku in after if after[sku] > ordered[sku]}
    if over:
        described = ", ".join(f"{sku}: {got} shipped of {want} ordered" for sku, (got, want) in sorted(over.items()))
        return ShipmentDecision(
            outcome=ShipmentOutcome.QUARANTINE,
            reason=ReasonCode.SHIPMENT_OVER_QUANTITY,
            detail=f"parcel {shipment.parcel_id} would over-ship order {shipment.client_reference}: {described}",
        )
    if not shipment.lines:
        return ShipmentDecision(
            outcome=ShipmentOutcome.QUARANTINE,
            reason=ReasonCode.PAYLOAD_INVALID,
            detail=f"parcel {shipment.parcel_id} carries no lines",
        )
    return ShipmentDecision(
        outcome=ShipmentOutcome.APPLY, closes_order=is_complete(ordered, after), shipped_after=after
    )


def retry_delay_minutes(attempts: int, base_minutes: float, max_minutes: float) -> float:
    """Exponential backoff for scheduled write-back retries: base, 2x base, 4x base... capped."""
    return float(min(max_minutes, base_minutes * (2 ** max(0, attempts - 1))))
