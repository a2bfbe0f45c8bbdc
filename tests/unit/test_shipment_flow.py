"""Despatch decisions: partial quantities, split lines, over-shipment, and the closing rule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.flows.shipments import ShipmentOutcome, decide_shipment, is_complete, retry_delay_minutes
from shared.models import ReasonCode
from shared.models.shipment import Shipment, ShipmentLine

ORDERED = {"TEE-BLK-M": Decimal(3), "CAP-NVY-S": Decimal(1)}
WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def parcel(parcel_id: str, **lines: int) -> Shipment:
    return Shipment(
        warehouse="scend",
        parcel_id=parcel_id,
        warehouse_order_id="7",
        client_reference="EXA-SO-1",
        despatched_at=WHEN,
        updated_at=WHEN,
        lines=tuple(ShipmentLine(sku=sku.replace("_", "-"), quantity=Decimal(q)) for sku, q in lines.items()),
    )


def test_partial_parcel_applies_without_closing() -> None:
    decision = decide_shipment(parcel("p1", TEE_BLK_M=2), ORDERED, {})
    assert decision.outcome == ShipmentOutcome.APPLY
    assert decision.closes_order is False
    assert decision.shipped_after == {"TEE-BLK-M": Decimal(2)}


def test_last_parcel_of_a_split_line_closes_the_order() -> None:
    # Given 2 of 3 tees shipped earlier, and the cap not yet
    applied = {"p1": {"TEE-BLK-M": Decimal(2)}}
    # When the rest ships in a second parcel
    decision = decide_shipment(parcel("p2", TEE_BLK_M=1, CAP_NVY_S=1), ORDERED, applied)
    # Then it applies and closes the order
    assert decision.outcome == ShipmentOutcome.APPLY
    assert decision.closes_order is True


def test_order_does_not_close_while_any_line_is_short() -> None:
    applied = {"p1": {"TEE-BLK-M": Decimal(3)}}
    decision = decide_shipment(parcel("p2", CAP_NVY_S=0 + 1), {**ORDERED, "SOCK-1": Decimal(1)}, applied)
    assert decision.closes_order is False


def test_same_parcel_twice_is_recognised() -> None:
    applied = {"p1": {"TEE-BLK-M": Decimal(2)}}
    assert decide_shipment(parcel("p1", TEE_BLK_M=2), ORDERED, applied).outcome == ShipmentOutcome.ALREADY_APPLIED


@pytest.mark.parametrize(
    ("applied", "lines", "reason"),
    [
        ({}, {"TEE_BLK_M": 4}, ReasonCode.SHIPMENT_OVER_QUANTITY),
        ({"p0": {"TEE-BLK-M": Decimal(3)}}, {"TEE_BLK_M": 1}, ReasonCode.SHIPMENT_OVER_QUANTITY),
        ({}, {"HOODIE_GRN_L": 1}, ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER),
        ({}, {}, ReasonCode.PAYLOAD_INVALID),
    ],
)
def test_parcels_that_must_not_be_applied_are_quarantined(applied: dict, lines: dict, reason: ReasonCode) -> None:
    decision = decide_shipment(parcel("p9", **lines), ORDERED, applied)
    assert decision.outcome == ShipmentOutcome.QUARANTINE
    assert decision.reason == reason


def test_closing_rule_needs_every_unit() -> None:
    assert is_complete(ORDERED, {"TEE-BLK-M": Decimal(3), "CAP-NVY-S": Decimal(1)})
    assert not is_complete(ORDERED, {"TEE-BLK-M": Decimal(3)})
    assert not is_complete({}, {})


def test_retry_backoff_doubles_and_caps() -> None:
    assert [retry_delay_minutes(n, 15, 120) for n in (1, 2, 3, 4, 5)] == [15, 30, 60, 120, 120]
