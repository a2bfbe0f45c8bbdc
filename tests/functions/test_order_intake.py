"""order_intake: read the sale, decide, and release, hold, skip or quarantine it (with replay)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.simulators.base import FaultKind, FaultPlan
from shared.stores.ledger import Stage
from tests.functions.conftest import GOOD_ADDRESS, Harness


def intake_message(harness: Harness, sale_id: str, trigger: str = "webhook") -> dict:
    return {
        "client": "example-cin7-scend",
        "source": "cin7_core",
        "source_id": sale_id.lower(),
        "order_number": "",
        "trigger": trigger,
    }


def run_intake(harness: Harness, *messages: dict) -> dict:
    return harness.invoke("order_intake", harness.sqs_event(*messages))


def test_valid_sale_is_released_to_submit(harness: Harness) -> None:
    # Given an authorised sale with known SKUs and a good address
    sale_id = harness.add_sale("SO-1")
    # When intake processes its reference
    response = run_intake(harness, intake_message(harness, sale_id))
    # Then the order goes to order-submit with the warehouse courier code and our client reference
    assert response == {"batchItemFailures": []}
    [submit] = harness.queue_bodies("order-submit")
    assert submit["client_reference"] == "EXA-SO-1"
    assert submit["courier_service"] == "RM-TRACKED-48"
    assert submit["order"]["lines"][0]["sku"] == "TEE-BLK-M"
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id}")
    assert entry.stage == Stage.RELEASED
    assert "released" in entry.timestamps


def test_sku_not_at_warehouse_holds_the_order_for_it(harness: Harness) -> None:
    # Given a good sale whose SKU the warehouse does not have yet
    sale_id = harness.add_sale("SO-2", lines=[("NEW-DROP-1", 1, Decimal("30.00"))])
    # When intake processes it
    run_intake(harness, intake_message(harness, sale_id))
    # Then it is held (not quarantined) for that SKU, and the SKU map remembers who waits
    assert harness.queue_bodies("order-submit") == []
    assert harness.rt.exceptions.list() == []
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id}")
    assert entry.stage == Stage.HELD
    assert entry.reason == "sku_pending"
    record = harness.rt.sku_map.get("NEW-DROP-1")
    assert record.status.value == "pending"
    assert record.waiting_orders == {f"cin7_core#{sale_id}"}


def test_replay_after_fix_releases_and_resolves_the_exception(harness: Harness) -> None:
    # Given an order quarantined for a postcode the carrier would refuse
    sale_id = harness.add_sale("SO-3", address={**GOOD_ADDRESS, "Postcode": "LS1"})
    run_intake(harness, intake_message(harness, sale_id))
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "postcode_invalid"
    assert exception.team.value == "operations"
    assert exception.replay_queue == "order-intake"
    assert exception.replay_message["trigger"] == "replay"
    assert exception.payload_key is not None
    # When customer service fixes the address at the source and the exception's message is replayed
    harness.cin7.update_sale(sale_id, ShippingAddress={"Postcode": "LS1 1AA"})
    run_intake(harness, exception.replay_message)
    # Then the order is released and the exception is resolved by the replay
    assert len(harness.queue_bodies("order-submit")) == 1
    resolved = harness.rt.exceptions.get(exception.id)
    assert resolved.status.value == "resolved"
    assert resolved.resolved_by == "order_intake:replay"
    assert harness.rt.exceptions.list() == []


def test_backordered_is_held_and_excluded_location_is_skipped(harness: Harness) -> None:
    held = harness.add_sale("SO-4", status="BACKORDERED")
    shop = harness.add_sale("SO-5", location="Retail Store")
    run_intake(harness, intake_message(harness, held), intake_message(harness, shop))
    assert harness.queue_bodies("order-submit") == []
    assert harness.rt.exceptions.list() == []
    assert harness.rt.ledger.get(f"cin7_core#{held}").stage == Stage.HELD
    assert harness.rt.ledger.get(f"cin7_core#{shop}").stage == Stage.SKIPPED
    # And no warehouse catalogue call was spent on orders that were not going anyway
    assert sum(harness.scend.requests.values()) == 0


def test_known_live_sku_costs_no_catalogue_call(harness: Harness) -> None:
    first = harness.add_sale("SO-6")
    run_intake(harness, intake_message(harness, first))
    calls_after_first = sum(harness.scend.requests.values())
    second = harness.add_sale("SO-7")
    run_intake(harness, intake_message(harness, second))
    assert calls_after_first == 1
    assert sum(harness.scend.requests.values()) == calls_after_first


def test_already_submitted_order_costs_no_source_call(harness: Harness) -> None:
    sale_id = harness.add_sale("SO-8")
    key = f"cin7_core#{sale_id}"
    harness.rt.ledger.record_delivery(key, order_number="SO-8", trigger="webhook", now=harness.clock.now())
    harness.rt.ledger.record_submitted(
        key, warehouse_order_id="9", client_reference="EXA-SO-8", created=True, now=harness.clock.now()
    )
    run_intake(harness, intake_message(harness, sale_id))
    assert sum(harness.cin7.requests.values()) == 0
    assert harness.rt.ledger.get(key).duplicates_suppressed == 1


def test_a_repeated_webhook_while_the_order_is_released_costs_no_source_call_and_the_poll_reads_an_edit(
    harness: Harness,
) -> None:
    # Given a sale released by its webhook, its submit message still queued
    sale_id = harness.add_sale("SO-8")
    key = f"cin7_core#{sale_id}"
    run_intake(harness, intake_message(harness, sale_id))
    reads = sum(harness.cin7.requests.values())
    # When Cin7 delivers the same webhook again
    run_intake(harness, intake_message(harness, sale_id))
    # Then the sale is not read again and no second submit is queued: submit sends an order once anyway
    assert sum(harness.cin7.requests.values()) == reads
    assert len(harness.queue_bodies("order-submit")) == 1
    entry = harness.rt.ledger.get(key)
    assert (entry.stage, entry.duplicates_suppressed) == (Stage.RELEASED, 1)
    # And a newer version of the sale, listed by the poll, is still read
    assert entry.source_updated_at is not None
    edited = datetime.fromisoformat(entry.source_updated_at) + timedelta(minutes=5)
    run_intake(harness, {**intake_message(harness, sale_id, "poll"), "source_updated_at": edited.isoformat()})
    assert sum(harness.cin7.requests.values()) == reads + 1


def test_source_outage_fails_only_that_record_for_redelivery(harness: Harness) -> None:
    # Given Cin7 answers every call with a 5xx
    sale_id = harness.add_sale("SO-9")
    harness.cin7.faults = FaultPlan(rate=1.0, weights={FaultKind.SERVER_ERROR: 1.0})
    # When intake processes a good message and a malformed one
    response = run_intake(harness, intake_message(harness, sale_id), {"nonsense": True})
    # Then the good one is reported failed (SQS redelivers it) and the malformed one is quarantined
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert harness.cin7.faults_injected[FaultKind.SERVER_ERROR] == harness.local.config.retries.max_attempts
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "payload_invalid"


def test_sale_missing_at_source_is_quarantined(harness: Harness) -> None:
    run_intake(harness, intake_message(harness, "00000000-0000-4000-8000-000000000000"))
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "source_not_found"


def test_every_problem_reaches_the_exception(harness: Harness) -> None:
    sale_id = harness.add_sale("SO-10", address={**GOOD_ADDRESS, "Postcode": "LS1"}, carrier="Pigeon Post")
    run_intake(harness, intake_message(harness, sale_id))
    [exception] = harness.rt.exceptions.list()
    assert set(exception.reasons) == {"postcode_invalid", "delivery_service_unmapped"}
