"""Scend despatches back to commercetools orders: each despatch becomes one delivery with its lines,
quantities and parcel tracking, then Partial or Shipped; a line split across despatches closes the order on
the last; a repeat adds nothing, judged by the order's own deliveries; a refusal is kept and retried with
backoff, then escalated. Judged by what the commercetools mock holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.connectors.spec import Role
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.messages import ShipmentMessage
from shared.models.shipment import Shipment
from shared.steps.despatch import WritebackResult, apply_shipment, retry_due_writebacks
from shared.stores.exceptions import ExceptionStatus
from shared.stores.ledger import Stage
from tests.steps.commercetools_scend import Pairing, fresh, play, running_pairing


@pytest.fixture(scope="module")
def started() -> Iterator[Pairing]:
    with running_pairing() as pairing:
        yield pairing


@pytest.fixture
def pairing(started: Pairing) -> Pairing:
    started.scend_sim.split_rate = 0.0
    return fresh(started)


class Refusing:
    """The shop refusing every write-back (as commercetools answers 400 InvalidOperation), reads passing."""

    def __init__(self, shop: Any):
        self.shop = shop
        self.name = shop.name
        self.refused = 0

    def write_shipment(self, source_id: str, shipment: Shipment, **_kwargs: Any) -> None:
        self.refused += 1
        raise PermanentError(ReasonCode.SOURCE_REJECTED, f"commercetools order {source_id}: HTTP 400 InvalidOperation")


def despatch_round(pairing: Pairing, reference: str) -> list[WritebackResult]:
    """One poll and the write-back of what it listed (the overlap window re-lists earlier despatches)."""
    results = [apply_shipment(message, pairing.rt) for message in pairing.despatched(reference)]
    return [result for result in results if result != WritebackResult.DUPLICATE]


def test_a_split_line_is_partial_on_the_first_despatch_and_shipped_on_the_last(pairing: Pairing) -> None:
    # Given an order of 3 tees and a cap that Scend splits, one tee line spanning both parts
    pairing.product("CT-TEE-1", "CT-CAP-1")
    pairing.scend_sim.split_rate = 1.0
    placed = pairing.order("CT-1001", [("CT-TEE-1", 3), ("CT-CAP-1", 1)])
    lines = {item["variant"]["sku"]: item["id"] for item in pairing.ct_order(placed["id"])["lineItems"]}
    # When the first part leaves and the despatch poll runs
    first = pairing.scend_sim.ship_now(placed["wid"])
    assert despatch_round(pairing, placed["reference"]) == [WritebackResult.APPLIED]
    # Then the order holds one delivery with that part's lines and its parcel's tracking and carrier: Partial
    order = pairing.ct_order(placed["id"])
    assert order["shipmentState"] == "Partial"
    [delivery] = order["shippingInfo"]["deliveries"]
    shipped = {item["id"]: item["quantity"] for item in delivery["items"]}
    assert shipped == {lines[item["SKU"]]: item["Quantity"] for item in first[0]["Items"]}
    assert [p["trackingData"]["trackingId"] for p in delivery["parcels"]] == first[0]["TrackingNumbers"]
    assert {p["trackingData"]["carrier"] for p in delivery["parcels"]} == {"Royal Mail"}
    assert pairing.rt.ledger.get(placed["key"]).stage == Stage.PART_SHIPPED
    # When the rest leaves: a second delivery, and every unit of every line delivered: Shipped
    pairing.clock.advance(3600)
    second = pairing.scend_sim.ship_now(placed["wid"])
    assert len(second) == 1 and despatch_round(pairing, placed["reference"]) == [WritebackResult.APPLIED]
    order = pairing.ct_order(placed["id"])
    assert order["shipmentState"] == "Shipped" and len(order["shippingInfo"]["deliveries"]) == 2
    totals: dict[str, int] = {}
    for delivery in order["shippingInfo"]["deliveries"]:
        for item in delivery["items"]:
            totals[item["id"]] = totals.get(item["id"], 0) + item["quantity"]
    assert totals == {lines["CT-TEE-1"]: 3, lines["CT-CAP-1"]: 1}
    assert pairing.rt.ledger.get(placed["key"]).stage == Stage.SHIPPED


def test_a_despatch_applied_twice_adds_nothing_even_when_the_ledger_forgot_it(pairing: Pairing) -> None:
    pairing.product("CT-TEE-2")
    placed = pairing.order("CT-1002", [("CT-TEE-2", 2)])
    pairing.scend_sim.ship_now(placed["wid"])
    [message] = pairing.despatched(placed["reference"])
    assert apply_shipment(message, pairing.rt) == WritebackResult.APPLIED
    version = pairing.ct_order(placed["id"])["version"]
    # The same despatch again: the ledger knows it, no call to commercetools
    assert apply_shipment(message, pairing.rt) == WritebackResult.DUPLICATE
    # And written again without the ledger (its record lost): the order's deliveries show it, nothing is written
    claimed: list[str] = []
    pairing.shop.write_shipment(
        placed["id"], message.shipment, location="3", progress={}, remember=claimed.append, known=()
    )
    order = pairing.ct_order(placed["id"])
    assert order["version"] == version and len(order["shippingInfo"]["deliveries"]) == 1 and claimed


def test_a_refused_write_back_is_retried_with_backoff_then_escalated(pairing: Pairing) -> None:
    # Given a despatch whose order the shop refuses (here: commercetools answers 400 to every update)
    pairing.product("CT-TEE-3")
    placed = pairing.order("CT-1003", [("CT-TEE-3", 1)])
    pairing.scend_sim.ship_now(placed["wid"])
    [message] = pairing.despatched(placed["reference"])
    refusing = Refusing(pairing.shop)
    pairing.rt.override(Role.SHIPMENT_TARGET, refusing)
    attempts = pairing.rt.config.shipments.writeback.alert_after_attempts
    delays: list[timedelta] = []
    assert apply_shipment(message, pairing.rt) == WritebackResult.FAILED
    for _ in range(attempts - 1):
        [record] = pairing.rt.exceptions.list(status=ExceptionStatus.RETRYING)
        assert record.reason == ReasonCode.WRITEBACK_REJECTED
        due = datetime.fromisoformat(str(record.next_retry_at))
        delays.append(due - pairing.clock.now())
        pairing.clock.advance((due - pairing.clock.now()).total_seconds())
        assert retry_due_writebacks(pairing.rt)["requeued"] == 1
        [again] = pairing.drain("shipment-writeback")
        assert apply_shipment(ShipmentMessage.model_validate(again), pairing.rt) == WritebackResult.FAILED
    # Then each wait doubled, and after N attempts it is a person's (open, counted for the alarm)
    assert delays == sorted(delays) and delays[1] == 2 * delays[0]
    assert refusing.refused == attempts
    assert retry_due_writebacks(pairing.rt) == {"requeued": 0, "escalated_open": 1}
    # Once the cause is fixed, a replay writes the delivery and resolves the exception
    play(pairing)
    [record] = pairing.rt.exceptions.list(status=ExceptionStatus.OPEN)
    assert apply_shipment(ShipmentMessage.model_validate(record.replay_message), pairing.rt) == WritebackResult.APPLIED
    assert pairing.ct_order(placed["id"])["shipmentState"] == "Shipped"
    assert pairing.rt.exceptions.list(status=ExceptionStatus.OPEN) == []
