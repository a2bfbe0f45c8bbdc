"""SKU fan-out: products reach the warehouse once per version, and orders held for them release themselves."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.stores.ledger import Stage
from tests.functions.conftest import Harness


def sync_round(harness: Harness) -> None:
    harness.local.run_schedule("poll_products")
    harness.local.drain()


def test_order_arriving_before_its_product_is_held_then_released_automatically(harness: Harness) -> None:
    # Given a product just created at Cin7 and an order for it that arrives before any product sync
    harness.cin7.add_product("HOODIE-NEW-M", "Hoodie new M", barcode="5012345678900", weight=Decimal("0.6"))
    sale_id = harness.add_sale("SO-1", lines=[("HOODIE-NEW-M", 1, Decimal("40.00"))])
    assert harness.webhook(sale_id)[0] == 202
    harness.local.drain()
    entry = harness.rt.ledger.get(f"cin7_core#{sale_id.lower()}")
    assert entry.stage == Stage.HELD
    assert entry.reason == "sku_pending"
    assert harness.scend.orders() == []
    # When the product sync runs (no operator involved)
    sync_round(harness)
    # Then the item exists at the warehouse, the SKU map says live, and the held order went through
    assert harness.scend.product("HOODIE-NEW-M")["EAN"] == "5012345678900"
    assert harness.rt.sku_map.get("HOODIE-NEW-M").status.value == "live"
    assert [o["OrderNumber"] for o in harness.scend.orders()] == ["EXA-SO-1"]
    assert harness.rt.ledger.get(f"cin7_core#{sale_id.lower()}").stage == Stage.SUBMITTED


def test_unchanged_product_costs_no_warehouse_call_and_owned_fields_are_not_overwritten(harness: Harness) -> None:
    # Given a product synced once
    product_id = harness.cin7.add_product("CAP-NEW-S", "Cap new S", weight=Decimal("0.2"))
    sync_round(harness)
    writes = harness.scend.product_writes
    searches = harness.scend.requests["GET /api/product/search"]
    # When the overlap window lists the same version again
    harness.rt.cursors.advance("cin7_core.products", harness.clock.now() - timedelta(days=2), harness.clock.now())
    sync_round(harness)
    # Then no warehouse call is made for it
    assert harness.scend.product_writes == writes
    assert harness.scend.requests["GET /api/product/search"] == searches
    # When the warehouse re-weighs the item and Cin7 renames it and changes its weight
    with harness.scend.lock:
        harness.scend._products["CAP-NEW-S"]["Weight"] = 0.25
    harness.clock.advance(60)
    harness.cin7.update_product(product_id, Name="Cap new S v2", Weight=0.3)
    sync_round(harness)
    # Then the source-owned name is updated and the warehouse-owned weight is kept
    item = harness.scend.product("CAP-NEW-S")
    assert item["Name"] == "Cap new S v2"
    assert item["Weight"] == 0.25


def test_product_failing_validation_is_rejected_and_its_orders_stay_held(harness: Harness) -> None:
    harness.cin7.add_product("SOCK-NEW", "Sock", barcode="12AB")
    sale_id = harness.add_sale("SO-2", lines=[("SOCK-NEW", 2, Decimal("5.00"))])
    harness.webhook(sale_id)
    harness.local.drain()
    sync_round(harness)
    # Then the product is quarantined for ecommerce with its reason, the map says rejected, nothing sent
    [exception] = [e for e in harness.rt.exceptions.list() if e.flow == "product_sync"]
    assert exception.reason.value == "product_invalid"
    assert exception.team.value == "ecommerce"
    assert "barcode" in exception.detail
    assert harness.rt.sku_map.get("SOCK-NEW").status.value == "rejected"
    assert harness.scend.product("SOCK-NEW") is None
    assert harness.rt.ledger.get(f"cin7_core#{sale_id.lower()}").stage == Stage.HELD
    # And once the hold outlasts the configured time, the order itself raises an exception
    harness.clock.advance(harness.local.config.catalogue.hold_alert_minutes * 60 + 1)
    assert harness.local.run_schedule("poll_products")["held_too_long"] == 1
    held = [e for e in harness.rt.exceptions.list() if e.reason.value == "sku_pending"]
    assert [e.business_key for e in held] == [f"cin7_core#{sale_id.lower()}"]


def test_sku_already_at_the_warehouse_is_adopted_not_created_twice(harness: Harness) -> None:
    # Given a SKU created at the warehouse by hand before Hopline saw it
    harness.scend.add_product("TEE-WHT-L", "Tee white L")
    harness.cin7.add_product("TEE-WHT-L", "Tee white L")
    writes = harness.scend.product_writes
    sync_round(harness)
    assert harness.scend.product_writes == writes  # same name: nothing to change, nothing created
    assert harness.rt.sku_map.get("TEE-WHT-L").status.value == "live"


def test_unreadable_product_row_is_quarantined_and_the_rest_sync(harness: Harness) -> None:
    # Given one product the feed cannot map (a unit it does not know) and one good product
    harness.cin7.add_product("GOOD-NEW", "Good new")
    harness.cin7.add_product("ODD-UNIT", "Odd unit", weight=Decimal(3))
    harness.cin7.update_product("ODD-UNIT", WeightUnits="stone")
    # When the product poll runs
    result = harness.local.run_schedule("poll_products")
    harness.local.drain()
    # Then the good one is live, and the bad row is archived and quarantined, not dropped
    assert result["unreadable"] == 1
    assert harness.rt.sku_map.get("GOOD-NEW").status.value == "live"
    [exception] = harness.rt.exceptions.list()
    assert exception.reason.value == "payload_invalid"
    assert "stone" in exception.detail
    assert b"ODD-UNIT" in harness.rt.archive.get(exception.payload_key)
