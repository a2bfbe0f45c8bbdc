"""Variants before they sell: a new commercetools variant becomes a Scend item through the catalogue
pipeline and releases an order held for it; the daily SKU audit reports, both ways, SKUs on one side only
and shop stock for an item Scend lacks, in a dated report. Judged by what the simulator holds."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from shared.models.messages import ProductMessage
from shared.steps.catalogue import poll_products
from shared.steps.product_sync import SyncResult, sync_product
from shared.steps.sku_audit import audit_skus
from tests.steps.commercetools_scend import Pairing, fresh, running_pairing


@pytest.fixture(scope="module")
def started() -> Iterator[Pairing]:
    with running_pairing() as pairing:
        yield pairing


@pytest.fixture
def pairing(started: Pairing) -> Pairing:
    return fresh(started)


def test_a_new_variant_becomes_a_scend_item_and_releases_the_order_held_for_it(pairing: Pairing) -> None:
    # Given an order held because its SKU is not at Scend yet, and the variant published in the shop
    pairing.rt.sku_map.hold_for(["CT-HOOD-41"], "commercetools#order-41", pairing.clock.now())
    pairing.product("CT-HOOD-41", "CT-HOOD-42", at_warehouse=False)
    assert not pairing.scend_sim.has_product("CT-HOOD-41")
    # When the product poll runs and the sync consumes what it listed
    poll_products(pairing.rt)
    results = {
        body["product"]["sku"]: sync_product(ProductMessage.model_validate(body), pairing.rt)
        for body in pairing.drain("product-sync")
    }
    # Then both variants are Scend items, and the held order went back to intake
    assert results == {"CT-HOOD-41": SyncResult.CREATED, "CT-HOOD-42": SyncResult.CREATED}
    assert pairing.scend_sim.has_product("CT-HOOD-41") and pairing.scend_sim.has_product("CT-HOOD-42")
    [released] = pairing.drain("order-intake")
    assert (released["source_id"], released["trigger"]) == ("order-41", "sku_live")


def test_the_daily_audit_reports_skus_on_one_side_only_and_stock_ahead_of_the_item(pairing: Pairing) -> None:
    pairing.product("CT-CAP-51")  # at both
    pairing.product("CT-CAP-52", at_warehouse=False)  # sold by the shop only
    pairing.scend_sim.add_product("CT-OLD-53")  # held by the warehouse only
    pairing.seeder.inventory("CT-CAP-52", pairing.settings.supply_channels["3"], 4)  # sellable, nothing to ship
    result = audit_skus(pairing.rt)
    body = json.loads(
        boto3.client("s3")
        .get_object(Bucket=pairing.local.names.buckets["archive"], Key=result["report"])["Body"]
        .read()
    )
    assert "CT-CAP-52" in body["missing_at_warehouse"] and "CT-CAP-51" not in body["missing_at_warehouse"]
    assert "CT-OLD-53" in body["missing_at_shop"] and "CT-CAP-51" not in body["missing_at_shop"]
    assert body["stocked_before_item"] == ["CT-CAP-52"]
    assert result["gaps"] == len(body["missing_at_warehouse"]) + len(body["missing_at_shop"]) + 1
    assert f"/sku-audit/{pairing.clock.now():%Y-%m-%d}/" in result["report"]
