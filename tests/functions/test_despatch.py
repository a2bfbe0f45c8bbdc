"""Despatch back: poll parcels, write each to the Cin7 sale once, close only when everything shipped."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sandbox.simulators.base import FaultKind, FaultPlan
from shared.connectors.spec import Role
from shared.models.messages import ShipmentMessage
from shared.models.shipment import Shipment, ShipmentLine
from shared.stores.exceptions import ExceptionStatus
from shared.stores.ledger import LedgerStore, Stage
from tests.functions.conftest import Harness


def order_at_warehouse(harness: Harness, number: str, lines: list[tuple[str, int, Decimal]]) -> tuple[str, int]:
    """Drive a sale through webhook, intake and submit; return (sale id, warehouse order id)."""
    sale_id = harness.add_sale(number, lines=lines)
    assert harness.webhook(sale_id)[0] == 202
    harness.local.drain()
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id.lower()}")
    assert entry.stage == Stage.SUBMITTED
    return sale_id.lower(), int(entry.warehouse_order_id)


def despatch_round(harness: Harness) -> None:
    harness.local.run_schedule("poll_despatches")
    harness.local.drain()


def test_single_parcel_is_written_back_and_closes_the_order(harness: Harness) -> None:
    # Given an order at the warehouse that ships in one parcel
    sale_id, order_id = order_at_warehouse(harness, "SO-1", [("TEE-BLK-M", 2, Decimal("12.50"))])
    [parcel] = harness.scend.ship_now(order_id)
    # When the despatch poll runs
    despatch_round(harness)
    # Then Cin7 shows the units shipped with the tracking number, and the ledger closes the order
    assert harness.cin7.shipped_quantities(sale_id) == {"TEE-BLK-M": Decimal(2)}
    assert set(harness.cin7.tracking_numbers(sale_id)) == set(parcel["TrackingNumbers"])
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id}")
    assert entry.stage == Stage.SHIPPED
    assert entry.closed is True
    assert list(entry.shipments) == [str(parcel["DespatchId"])]


def test_split_order_is_part_shipped_then_closed_by_the_late_parcel(harness: Harness) -> None:
    # Given a two-line order the warehouse splits into two parcels, the second much later
    harness.scend.split_rate = 1.0
    sale_id, order_id = order_at_warehouse(
        harness, "SO-2", [("TEE-BLK-M", 3, Decimal("12.50")), ("CAP-NVY-S", 1, Decimal("9.00"))]
    )
    first = harness.scend.ship_now(order_id)
    despatch_round(harness)
    # Then after the first parcel the order is part shipped and not closed
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id}")
    assert len(first) == 1
    assert entry.stage == Stage.PART_SHIPPED
    assert entry.closed is False
    # When the late parcel leaves and the poll runs again
    second = harness.scend.ship_now(order_id)
    despatch_round(harness)
    # Then both parcels are recorded, every unit is shipped at Cin7, and the order is closed
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id}")
    assert len(second) == 1
    assert set(entry.shipments) == {str(first[0]["DespatchId"]), str(second[0]["DespatchId"])}
    assert entry.closed is True
    assert harness.cin7.shipped_quantities(sale_id) == {"TEE-BLK-M": Decimal(3), "CAP-NVY-S": Decimal(1)}


def test_same_parcel_again_changes_nothing_and_costs_no_cin7_call(harness: Harness) -> None:
    sale_id, order_id = order_at_warehouse(harness, "SO-3", [("TEE-BLK-M", 1, Decimal("12.50"))])
    harness.scend.ship_now(order_id)
    despatch_round(harness)
    fulfilment_calls = sum(c for route, c in harness.cin7.requests.items() if "fulfilment" in route)
    # When the overlap window re-lists the same parcel
    harness.rt.cursors.advance("scend.shipments", harness.clock.now() - timedelta(days=3), harness.clock.now())
    despatch_round(harness)
    # Then Cin7 is not called again and still shows one shipment
    assert sum(c for route, c in harness.cin7.requests.items() if "fulfilment" in route) == fulfilment_calls
    assert harness.cin7.shipped_quantities(sale_id) == {"TEE-BLK-M": Decimal(1)}


def test_a_relisted_parcel_already_written_back_is_not_sent_again(harness: Harness, monkeypatch: Any) -> None:
    # Given one order whose parcel is written back, and a second whose parcel is not yet
    done, done_id = order_at_warehouse(harness, "SO-31", [("TEE-BLK-M", 1, Decimal("12.50"))])
    harness.scend.ship_now(done_id)
    despatch_round(harness)
    _, later_id = order_at_warehouse(harness, "SO-32", [("CAP-NVY-S", 1, Decimal("9.00"))])
    harness.scend.ship_now(later_id)
    # When a poll's window lists both parcels
    harness.rt.cursors.advance("scend.shipments", harness.clock.now() - timedelta(days=3), harness.clock.now())
    result = harness.local.run_schedule("poll_despatches")
    # Then only the new parcel goes to the write-back, and it is applied
    assert result["applied"] == 1 and result["enqueued"] == 1

    def no_lookup(*_: Any, **__: Any) -> None:
        raise AssertionError("the poll's message carries the order key")

    monkeypatch.setattr(LedgerStore, "find_by_reference", no_lookup)
    harness.local.drain()
    entry = harness.rt.ledger.get(f"cin7_core#{done}")
    assert len(entry.shipments) == 1 and harness.cin7.shipped_quantities(done) == {"TEE-BLK-M": Decimal(1)}
    assert len(harness.rt.ledger.entries_at(Stage.SHIPPED)) == 2  # both orders closed at the source


def shipment_message(reference: str, parcel_id: str, **lines: int) -> dict:
    when = datetime(2026, 11, 23, 12, 0).astimezone()
    shipment = Shipment(
        warehouse="scend",
        parcel_id=parcel_id,
        warehouse_order_id="1",
        client_reference=reference,
        despatched_at=when,
        updated_at=when,
        tracking_numbers=("JB000000001GB",),
        lines=tuple(ShipmentLine(sku=s.replace("_", "-"), quantity=Decimal(q)) for s, q in lines.items()),
    )
    return ShipmentMessage(client="example-cin7-scend", trigger="poll", shipment=shipment).model_dump(mode="json")


def test_parcel_for_an_unknown_order_is_quarantined(harness: Harness) -> None:
    harness.invoke("apply_shipment", harness.sqs_event(shipment_message("EXA-NOPE", "p1", TEE_BLK_M=1)))
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "shipment_order_unknown"
    assert exception.team.value == "operations"
    assert exception.replay_queue == "shipment-writeback"


def test_over_shipment_is_quarantined_and_not_applied(harness: Harness) -> None:
    sale_id, _ = order_at_warehouse(harness, "SO-4", [("TEE-BLK-M", 1, Decimal("12.50"))])
    harness.invoke("apply_shipment", harness.sqs_event(shipment_message("EXA-SO-4", "p9", TEE_BLK_M=5)))
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "shipment_over_quantity"
    assert "5 shipped of 1 ordered" in exception.detail
    assert harness.cin7.shipped_quantities(sale_id) == {}


def test_refused_writeback_retries_with_backoff_then_escalates(harness: Harness) -> None:
    # Given Cin7 refuses the write-back (the sale was voided after it reached the warehouse)
    sale_id, order_id = order_at_warehouse(harness, "SO-5", [("TEE-BLK-M", 1, Decimal("12.50"))])
    harness.cin7.update_sale(sale_id, OrderStatus="VOIDED", Status="VOIDED")
    harness.scend.ship_now(order_id)
    despatch_round(harness)
    # Then the failure is kept, retrying, with its next attempt in the future
    [exception] = harness.rt.exceptions.list(status=ExceptionStatus.RETRYING)
    assert exception.reason.value == "writeback_rejected"
    assert datetime.fromisoformat(exception.next_retry_at) > harness.clock.now()
    # And the retry schedule leaves it alone until it is due
    assert harness.local.run_schedule("retry_writebacks")["requeued"] == 0
    # When attempts run out (backoff elapses each time) it is escalated to a person
    limit = harness.local.config.shipments.writeback.alert_after_attempts
    for _ in range(limit - 1):
        harness.clock.advance(24 * 3600)
        assert harness.local.run_schedule("retry_writebacks")["requeued"] == 1
        harness.local.drain()
    escalated = harness.rt.exceptions.get(exception.id)
    assert escalated.status == ExceptionStatus.OPEN
    assert escalated.attempts == limit
    assert harness.local.run_schedule("retry_writebacks")["escalated_open"] == 1
    assert harness.cin7.shipped_quantities(sale_id) == {}


def test_lost_ship_response_is_resumed_not_duplicated(harness: Harness) -> None:
    # Given every Cin7 write loses its response once the write is done
    sale_id, order_id = order_at_warehouse(harness, "SO-6", [("TEE-BLK-M", 2, Decimal("12.50"))])
    harness.scend.ship_now(order_id)
    harness.cin7.faults = FaultPlan(rate=0.5, weights={FaultKind.LOST_RESPONSE: 1.0}, seed=3)
    despatch_round(harness)
    lost = harness.cin7.faults_injected[FaultKind.LOST_RESPONSE]
    harness.cin7.faults = FaultPlan()
    harness.local.drain()
    assert lost >= 1
    # Then the parcel is applied once, on one task, and the order is closed
    assert harness.cin7.shipped_quantities(sale_id) == {"TEE-BLK-M": Decimal(2)}
    assert len(harness.cin7.fulfilments(sale_id)) == 1
    assert harness.rt.ledger.get(f"cin7_core#{sale_id}").closed is True


def test_failure_after_pick_resumes_the_same_task_on_redelivery(harness: Harness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Given a parcel whose pick lands at Cin7 but whose pack fails transiently
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from shared.errors import TransientError

    sale_id, order_id = order_at_warehouse(harness, "SO-7", [("TEE-BLK-M", 2, Decimal("12.50"))])
    harness.scend.ship_now(order_id)
    harness.local.run_schedule("poll_despatches")
    [message] = harness.queue_bodies("shipment-writeback")
    source = harness.local.hop_runtime("apply_shipment").role(Role.SHIPMENT_TARGET)  # the write-back hop's own
    real_pack = source.authorise_pack

    def failing_pack(*args: object, **kwargs: object) -> None:
        raise TransientError("pack timed out")

    monkeypatch.setattr(source, "authorise_pack", failing_pack)
    with pytest.raises(BatchProcessingError):  # the only record failed: Lambda retries the batch
        harness.invoke("apply_shipment", harness.sqs_event(message))
    assert harness.cin7.fulfilments(sale_id)[0]["Pick"]["Status"] == "AUTHORISED"
    # When the message is redelivered and Cin7 answers again
    monkeypatch.setattr(source, "authorise_pack", real_pack)
    response = harness.invoke("apply_shipment", harness.sqs_event(message))
    # Then the same task is packed and shipped: no second task, no refusal, order closed
    assert response == {"batchItemFailures": []}
    assert len(harness.cin7.fulfilments(sale_id)) == 1
    assert harness.cin7.shipped_quantities(sale_id) == {"TEE-BLK-M": Decimal(2)}
    assert harness.rt.exceptions.list(status=None) == []
