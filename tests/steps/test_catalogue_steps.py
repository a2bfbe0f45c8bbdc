"""SKU fan-out steps against fake platforms: a product reaches the warehouse once per version, warehouse-owned
fields survive updates, bad products and unreadable rows are quarantined, and held orders are released."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.errors import PermanentError, TransientError
from shared.models import ReasonCode
from shared.models.messages import IntakeMessage, ProductMessage
from shared.steps.catalogue import poll_products, product_feed
from shared.steps.order_intake import IntakeResult, take_in
from shared.steps.product_sync import SyncResult, sync_product
from shared.stores.ledger import Stage
from tests.steps.conftest import Steps


def sync_round(steps: Steps) -> list[SyncResult]:
    """The product poll, then the sync step for every product it queued."""
    poll_products(steps.rt)
    return [sync_product(ProductMessage.model_validate(body), steps.rt) for body in steps.queued("product-sync")]


def hold_order(steps: Steps, number: str, sku: str) -> str:
    """An order for a SKU the warehouse lacks, taken in: held for it. Its order key."""
    sale_id = steps.commerce.add_order(number, [(sku, 2)])
    message = IntakeMessage(
        client=steps.rt.config.client, source=steps.commerce.name, source_id=sale_id, trigger="webhook"
    )
    assert take_in(message, steps.rt) == IntakeResult.HELD_FOR_SKU
    return message.order_key


def test_unchanged_product_costs_no_warehouse_call_and_owned_fields_are_not_overwritten(steps: Steps) -> None:
    # Given a product synced once
    steps.commerce.add_product("CAP-NEW-S", "Cap new S", weight_kg=Decimal("0.2"))
    assert sync_round(steps) == [SyncResult.CREATED]
    # When the overlap window lists the same version again
    steps.warehouse.calls.clear()
    steps.rt.cursors.advance(product_feed(steps.rt), steps.clock.now() - timedelta(days=2), steps.clock.now())
    assert sync_round(steps) == [SyncResult.UNCHANGED]
    # Then no warehouse call is made for it
    assert steps.warehouse.calls == []
    # When the warehouse re-weighs the item and the master renames it and changes its weight
    held = steps.warehouse.products["CAP-NEW-S"]
    steps.warehouse.products["CAP-NEW-S"] = held.model_copy(update={"fields": {**held.fields, "weight_kg": "0.25"}})
    steps.clock.advance(60)
    steps.commerce.add_product("CAP-NEW-S", "Cap new S v2", weight_kg=Decimal("0.3"))
    assert sync_round(steps) == [SyncResult.UPDATED]
    # Then only the source-owned name is sent, and the warehouse-owned weight is kept
    [update] = steps.warehouse.called("update_product")
    assert update.args[2] == ("name",)
    assert steps.warehouse.products["CAP-NEW-S"].fields["name"] == "Cap new S v2"
    assert steps.warehouse.products["CAP-NEW-S"].fields["weight_kg"] == "0.25"


def test_product_failing_validation_is_rejected_and_its_orders_stay_held(steps: Steps) -> None:
    steps.commerce.add_product("SOCK-NEW", "Sock", barcode="12AB")
    order_key = hold_order(steps, "SO-2", "SOCK-NEW")
    assert sync_round(steps) == [SyncResult.REJECTED]
    # Then the product is quarantined for ecommerce with its reason, the map says rejected, nothing sent
    [exception] = [e for e in steps.rt.exceptions.list() if e.flow == "product_sync"]
    assert exception.reason.value == "product_invalid"
    assert exception.team.value == "ecommerce"
    assert "barcode" in exception.detail
    assert steps.rt.sku_map.get("SOCK-NEW").status.value == "rejected"  # type: ignore[union-attr]
    assert "SOCK-NEW" not in steps.warehouse.products
    assert steps.warehouse.called("create_product") == []
    assert steps.rt.ledger.get(order_key).stage == Stage.HELD  # type: ignore[union-attr]
    # And once the hold outlasts the configured time, the order itself raises an exception
    steps.clock.advance(steps.rt.config.catalogue.hold_alert_minutes * 60 + 1)
    assert poll_products(steps.rt)["held_too_long"] == 1
    held = [e for e in steps.rt.exceptions.list() if e.reason.value == "sku_pending"]
    assert [e.business_key for e in held] == [order_key]
    # Raised once per hold: the next polls leave the open exception as it is; resolved while still held, it is raised again
    steps.clock.advance(15 * 60)
    assert poll_products(steps.rt)["held_too_long"] == 0
    [again] = [e for e in steps.rt.exceptions.list() if e.reason.value == "sku_pending"]
    assert again.attempts == held[0].attempts and again.last_seen == held[0].last_seen
    steps.rt.exceptions.resolve("order_intake", order_key, by="operations", now=steps.clock.now())
    assert poll_products(steps.rt)["held_too_long"] == 1


def test_sku_already_at_the_warehouse_is_adopted_not_created_twice(steps: Steps) -> None:
    # Given a SKU created at the warehouse by hand before Hopline saw it
    item = steps.warehouse.add_product("TEE-WHT-L", "Tee white L")
    steps.commerce.add_product("TEE-WHT-L", "Tee white L")
    assert sync_round(steps) == [SyncResult.UNCHANGED]
    # Then nothing is created or changed (same name), and the map records the warehouse's item as live
    assert steps.warehouse.called("create_product") == steps.warehouse.called("update_product") == []
    record = steps.rt.sku_map.get("TEE-WHT-L")
    assert record is not None and record.status.value == "live" and record.warehouse_item_id == item.item_id


def test_unreadable_product_row_is_quarantined_and_the_rest_sync(steps: Steps) -> None:
    # Given one product row the feed cannot map and one good product
    steps.commerce.add_product("GOOD-NEW", "Good new")
    steps.commerce.add_unreadable(
        "products",
        {"ID": "odd-1", "SKU": "ODD-UNIT", "WeightUnits": "stone"},
        "field 'WeightUnits': unit 'stone' is not known",
        key="odd-1",
    )
    # When the product poll runs
    result = poll_products(steps.rt)
    [message] = steps.queued("product-sync")
    assert sync_product(ProductMessage.model_validate(message), steps.rt) == SyncResult.CREATED
    # Then the good one is live, and the bad row is archived and quarantined, not dropped
    assert result["unreadable"] == 1
    assert steps.rt.sku_map.get("GOOD-NEW").status.value == "live"  # type: ignore[union-attr]
    [exception] = steps.rt.exceptions.list()
    assert exception.reason.value == "payload_invalid"
    assert "stone" in exception.detail
    assert exception.payload_key is not None
    assert b"ODD-UNIT" in steps.rt.archive.get(exception.payload_key)


def test_an_unreadable_product_listed_by_every_poll_is_one_exception_counted_not_one_per_poll(steps: Steps) -> None:
    # Given a product row the feed cannot map, and no readable change to move the cursor past it
    steps.commerce.add_unreadable(
        "products", {"ID": "odd-2", "SKU": "TEE BLK 2"}, "SKU 'TEE BLK 2' has spaces", key="odd-2"
    )
    # When three polls list it again (the cursor stays where the last readable row left it)
    for _ in range(3):
        assert poll_products(steps.rt)["unreadable"] == 1
        steps.clock.advance(900)
    # Then the inbox holds one exception for it, counted three times, pointing at an archived copy
    [exception] = [e for e in steps.rt.exceptions.list() if e.flow == "product_sync"]
    assert exception.attempts == 3
    assert exception.payload_key is not None and b"TEE BLK 2" in steps.rt.archive.get(exception.payload_key)


def test_a_product_going_live_sends_its_held_orders_back_to_intake(steps: Steps) -> None:
    order_key = hold_order(steps, "SO-3", "HOODIE-NEW-M")
    steps.commerce.add_product("HOODIE-NEW-M", "Hoodie new M", barcode="5012345678900")
    assert sync_round(steps) == [SyncResult.CREATED]
    assert steps.warehouse.products["HOODIE-NEW-M"].fields["barcode"] == "5012345678900"
    [intake] = steps.queued("order-intake")
    assert (f"{intake['source']}#{intake['source_id']}", intake["trigger"]) == (order_key, "sku_live")
    assert steps.rt.sku_map.get("HOODIE-NEW-M").waiting_orders == set()  # type: ignore[union-attr]


def test_a_create_the_warehouse_refuses_is_quarantined_with_its_reason_for_replay(steps: Steps) -> None:
    steps.commerce.add_product("MUG-NEW", "Mug new")
    steps.warehouse.fail("create_product", PermanentError(ReasonCode.WAREHOUSE_REJECTED, "EAN already in use"))
    assert sync_round(steps) == [SyncResult.REJECTED]
    [exception] = steps.rt.exceptions.list()
    assert (exception.reason, exception.detail) == (ReasonCode.WAREHOUSE_REJECTED, "EAN already in use")
    assert exception.replay_queue == "product-sync"
    assert steps.rt.sku_map.get("MUG-NEW").status.value == "rejected"  # type: ignore[union-attr]
    # A replay once the warehouse accepts creates it and closes the exception
    assert sync_product(ProductMessage.model_validate(exception.replay_message), steps.rt) == SyncResult.CREATED
    assert steps.rt.exceptions.list() == []
    assert steps.rt.sku_map.get("MUG-NEW").status.value == "live"  # type: ignore[union-attr]


def test_a_transient_warehouse_failure_escapes_and_records_nothing(steps: Steps) -> None:
    steps.commerce.add_product("BAG-NEW", "Bag new")
    poll_products(steps.rt)
    [body] = steps.queued("product-sync")
    steps.warehouse.fail("find_product", TransientError("warehouse timed out"))
    with pytest.raises(TransientError):  # raised, so the queue redelivers it
        sync_product(ProductMessage.model_validate(body), steps.rt)
    assert steps.rt.sku_map.get("BAG-NEW") is None
    assert steps.rt.exceptions.list() == []
    assert sync_product(ProductMessage.model_validate(body), steps.rt) == SyncResult.CREATED
