"""SKU fan-out across the hops: an order held for a new product goes through once the product sync runs.

The sync step's own decisions (once per version, warehouse-owned fields, rejected products, unreadable rows,
refusals and retries) are judged against fake platforms in tests/steps/test_catalogue_steps.py.
"""

from __future__ import annotations

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
