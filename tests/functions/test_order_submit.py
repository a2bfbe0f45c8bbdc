"""order_submit: exactly one warehouse order per source order, whatever is retried or repeated."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from shared.connectors.spec import Role
from shared.stores.ledger import Stage
from tests.functions.conftest import Harness


def submit_message(harness: Harness, number: str = "SO-1", sku: str = "TEE-BLK-M") -> dict:
    sale_id = harness.add_sale(number, lines=[(sku, 2, Decimal("12.50"))])
    harness.invoke(
        "order_intake",
        harness.sqs_event(
            {"client": "example-cin7-scend", "source": "cin7_core", "source_id": sale_id.lower(), "trigger": "webhook"}
        ),
    )
    [message] = harness.queue_bodies("order-submit")
    return message


def test_order_is_created_once_and_recorded(harness: Harness) -> None:
    message = submit_message(harness)
    response = harness.invoke("order_submit", harness.sqs_event(message))
    assert response == {"batchItemFailures": []}
    [order] = harness.scend.orders()
    assert order["OrderNumber"] == "EXA-SO-1"
    entry = harness.rt.ledger.get(f"cin7_core#{message['source_id']}")
    assert entry.stage == Stage.SUBMITTED
    assert entry.warehouse_order_id == str(order["ID"])
    assert entry.client_reference == "EXA-SO-1"
    assert {"received", "released", "submitted"} <= set(entry.timestamps)


def test_same_message_twice_makes_one_order_and_no_second_call(harness: Harness) -> None:
    message = submit_message(harness)
    harness.invoke("order_submit", harness.sqs_event(message))
    calls = sum(harness.scend.requests.values())
    harness.invoke("order_submit", harness.sqs_event(message))
    assert len(harness.scend.orders()) == 1
    assert sum(harness.scend.requests.values()) == calls


def test_lost_response_then_redelivery_finds_the_order_even_without_warehouse_dedupe(harness: Harness) -> None:
    # Given a warehouse that does NOT refuse duplicate references, and whose first create response is lost
    harness.scend.enforce_unique_reference = False
    message = submit_message(harness)
    harness.scend.lose_next_create_responses(1)
    # When the first delivery fails after the write, and SQS redelivers
    with pytest.raises(BatchProcessingError):  # every record failed: Lambda retries the batch
        harness.invoke("order_submit", harness.sqs_event(message))
    second = harness.invoke("order_submit", harness.sqs_event(message))
    # Then the redelivery searched first and found it: one order, recorded as found
    assert harness.scend.create_attempts == 1
    assert second == {"batchItemFailures": []}
    assert len(harness.scend.orders()) == 1
    assert harness.scend.duplicate_references() == 0
    entry = harness.rt.ledger.get(f"cin7_core#{message['source_id']}")
    assert entry.warehouse_order_id == str(harness.scend.orders()[0]["ID"])


def test_warehouse_refusal_is_quarantined_and_replayable(harness: Harness) -> None:
    # Given an order validated while the SKU existed, which the warehouse no longer has
    message = submit_message(harness, "SO-2", sku="CAP-NVY-S")
    harness.scend.remove_product("CAP-NVY-S")
    # When it is submitted
    response = harness.invoke("order_submit", harness.sqs_event(message))
    # Then it is quarantined (not retried forever) with the replay message for order-submit
    assert response == {"batchItemFailures": []}
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "sku_unknown"
    assert exception.flow == "order_submit"
    assert exception.replay_queue == "order-submit"
    # And the message (the customer's address) is in the archive only: the inbox points at it
    assert exception.replay_message is None and exception.replay_payload == "message"
    archived = json.loads(harness.rt.archive.get(exception.payload_key))
    assert archived == message
    # And once the product is back, replaying creates it: the failure was not cached by idempotency
    harness.scend.add_product("CAP-NVY-S")
    harness.invoke("order_submit", harness.sqs_event(archived))
    assert len(harness.scend.orders()) == 1
    assert harness.rt.exceptions.get(exception.id).status.value == "resolved"


def test_a_sale_without_order_totals_reaches_the_warehouse_with_its_real_value(harness: Harness) -> None:
    # Given a sale read from a Cin7 that leaves Order.Total and Order.Tax out (the card lists only the lines
    # and charges): 2 x 12.50 and 1 x 8.95 with 3.95 shipping, 20% VAT inclusive
    assert harness.cin7.order_totals is False
    sale_id = harness.add_sale(
        "SO-9", lines=[("TEE-BLK-M", 2, Decimal("12.50")), ("CAP-NVY-S", 1, Decimal("8.95"))], shipping=Decimal("3.95")
    )
    assert "Total" not in harness.rt.role(Role.ORDER_SOURCE).get_sale(sale_id)["Order"]
    # When it is taken in and submitted
    harness.webhook(sale_id)
    harness.local.drain()
    # Then Scend holds the order with the value and VAT of its lines and charge, not zero
    [order] = harness.scend.orders()
    assert (order["OrderValue"], order["TotalVat"]) == (37.90, 6.32)
