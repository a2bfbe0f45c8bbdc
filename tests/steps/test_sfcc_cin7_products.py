"""Cin7 Core products and prices into SFCC, through the sync step (moto stores, the SFCC simulator over HTTP):
a field SFCC owns is never overwritten by a sync, one Cin7 owns always follows Cin7; a SKU is created in SFCC
only from Cin7, offline, and sells only once the stock flow gives it an allocation; each Cin7 price tier goes
to the price book configured for it and its currency, only when it changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from sandbox.local import MOTO_CONFIG, LocalHopline
from sandbox.simulators.sfcc import SfccSimulator
from shared.clock import VirtualClock
from shared.config import ClientConfig, RetryConfig, load_client_config
from shared.connectors.registry import spec_for
from shared.connectors.spec import Role
from shared.models.messages import ProductMessage
from shared.models.product import PRODUCT_FIELDS, Product
from shared.runtime import Runtime
from shared.steps.product_sync import SyncResult, sync_product
from tests.steps.conftest import empty

EXAMPLE = Path(__file__).resolve().parents[2] / "infra" / "clients" / "example-sfcc-cin7.yaml"
RETRIES = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=0.5, timeout_seconds=5)
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
# What merchandising set in SFCC, and what Cin7 then changes each field to: every value differs.
SFCC_VALUES: dict[str, Any] = {
    "name": {"default": "Flat Front Pant - Navy (web)"},
    "upc": "5012345678900",
    "c_weightKg": 0.5,
    "c_lengthCm": 30,
    "c_widthCm": 20,
    "c_heightCm": 4,
    "c_hsCode": "620342",
    "c_countryOfOrigin": "PT",
    "c_customsDescription": "Trousers, cotton (web copy)",
    "long_description": {"default": "Merchandising's copy, no Cin7 field maps to it"},
}
CIN7_CHANGES: dict[str, Any] = {
    "name": "Flat Front Pant Navy 32",
    "barcode": "5012345678917",
    "weight_kg": Decimal("0.65"),
    "length_cm": Decimal("32"),
    "width_cm": Decimal("22"),
    "height_cm": Decimal("5"),
    "commodity_code": "620343",
    "country_of_origin": "MA",
    "customs_description": "Men's trousers, cotton",
}


def product(sku: str, version: datetime, **fields: Any) -> Product:
    base: dict[str, Any] = {
        "name": "Flat Front Pant - Navy (web)",
        "barcode": "5012345678900",
        "weight_kg": Decimal("0.5"),
        "length_cm": Decimal("30"),
        "width_cm": Decimal("20"),
        "height_cm": Decimal("4"),
        "commodity_code": "620342",
        "country_of_origin": "PT",
        "customs_description": "Trousers, cotton (web copy)",
    }
    return Product(source="cin7_core", source_id=f"id-{sku}", sku=sku, updated_at=version, **{**base, **fields})


class Shop:
    def __init__(self, local: LocalHopline, sim: SfccSimulator, config: ClientConfig):
        self.local, self.sim, self.config = local, sim, config

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.local.runtime
        return runtime

    def sync(self, item: Product) -> SyncResult:
        return sync_product(ProductMessage(client=self.config.client, trigger="poll", product=item), self.rt)

    def attribute(self, sku: str, name: str) -> Any:
        with self.sim.lock:
            return self.sim.product_documents[sku].get(name)


@pytest.fixture(scope="module")
def config() -> ClientConfig:
    return load_client_config(EXAMPLE)


@pytest.fixture(scope="module")
def hopline(config: ClientConfig) -> Iterator[LocalHopline]:
    with mock_aws(config=MOTO_CONFIG):
        local = LocalHopline(config, VirtualClock())
        local.start()
        yield local


@pytest.fixture
def shop(hopline: LocalHopline, config: ClientConfig) -> Iterator[Shop]:
    empty(hopline)
    sim = SfccSimulator(
        "hopline-orders",
        "s3cret",
        clock=hopline.clock,
        product_endpoint="products/{product_id}",
        price_book_endpoint=config.platforms["sfcc"].price_book_endpoint,  # type: ignore[attr-defined]
    )
    sim.start()
    settings = config.platforms["sfcc"].model_copy(
        update={
            "organization_id": sim.organization_id,
            "auth_url": sim.url + "dwsso/oauth2/access_token",
            "scapi_base_url": sim.url,
            "ocapi_base_url": sim.url,
            "retry": RETRIES,
        }
    )

    class Context:
        clock = hopline.clock
        http_timeout = 5.0
        user_agent = "hopline/sfcc-products"

        def budget(self, key: str, calls: int, per_seconds: float) -> Any:
            from shared.connectors.http import TokenBucket

            return TokenBucket(100_000, per_seconds, hopline.clock, capacity=100_000)

    connector = spec_for("sfcc").build(
        "sfcc", settings, {"client_id": "hopline-orders", "client_secret": "s3cret"}, RETRIES, Context()
    )
    hopline.runtime.override(Role.CATALOGUE_TARGET, connector)
    yield Shop(hopline, sim, config)
    connector.close()
    sim.stop()


ATTRIBUTES = {
    "name": "name",
    "barcode": "upc",
    "weight_kg": "c_weightKg",
    "length_cm": "c_lengthCm",
    "width_cm": "c_widthCm",
    "height_cm": "c_heightCm",
    "commodity_code": "c_hsCode",
    "country_of_origin": "c_countryOfOrigin",
    "customs_description": "c_customsDescription",
}


def test_every_product_field_has_one_owner_in_the_example(config: ClientConfig) -> None:
    assert config.pipelines.catalogue is not None
    assert set(config.pipelines.catalogue.field_owners) == set(PRODUCT_FIELDS)
    assert config.platforms["sfcc"].products.attributes == ATTRIBUTES  # type: ignore[attr-defined]


@pytest.mark.parametrize("field", PRODUCT_FIELDS)
def test_a_sync_never_overwrites_a_field_sfcc_owns_and_always_carries_one_cin7_owns(
    shop: Shop, config: ClientConfig, field: str
) -> None:
    # Given the product as merchandising built it in SFCC, with a value of its own for every attribute
    sku = f"PANT-{field}"
    shop.sim.product_documents[sku] = dict(SFCC_VALUES)
    # When Cin7 changes only this field and the sync runs
    assert config.pipelines.catalogue is not None
    owner = config.pipelines.catalogue.field_owners[field]
    result = shop.sync(product(sku, T0 + timedelta(minutes=1), **{field: CIN7_CHANGES[field]}))
    attribute = ATTRIBUTES[field]
    held = shop.attribute(sku, attribute)
    held = held["default"] if isinstance(held, dict) else held
    written = [body for method, product_id, body in shop.sim.product_writes if product_id == sku]
    if owner == "source":  # Cin7 owns it: SFCC now holds Cin7's value, and only that attribute was sent
        assert result == SyncResult.UPDATED
        expected = CIN7_CHANGES[field]
        assert (Decimal(str(held)) if isinstance(expected, Decimal) else held) == expected
        assert [set(body) for body in written] == [{attribute}]
    else:  # SFCC owns it: no write at all, merchandising's value stands
        assert result == SyncResult.UNCHANGED
        original = SFCC_VALUES[attribute]
        assert held == (original["default"] if isinstance(original, dict) else original)
        assert written == []
    # An attribute no Cin7 field maps to is never touched
    assert shop.attribute(sku, "long_description") == SFCC_VALUES["long_description"]


def test_a_sku_new_in_cin7_is_created_offline_once_and_never_recreated_over_merchandisings_edits(
    shop: Shop,
) -> None:
    # Cin7 has a product SFCC lacks: it is created, offline, with every mapped field
    assert shop.sync(product("NEW-1", T0)) == SyncResult.CREATED
    assert shop.attribute("NEW-1", "online_flag") is False
    assert shop.attribute("NEW-1", "upc") == "5012345678900"
    assert shop.attribute("NEW-1", "name") == {"default": "Flat Front Pant - Navy (web)"}
    # Merchandising publishes it and rewrites its name; a later Cin7 version touches neither
    shop.sim.product_documents["NEW-1"].update(online_flag=True, name={"default": "The Navy Pant"})
    assert shop.sync(product("NEW-1", T0 + timedelta(hours=1), name="Pant NVY", barcode="5012345678917")) == (
        SyncResult.UPDATED
    )
    assert shop.attribute("NEW-1", "online_flag") is True
    assert shop.attribute("NEW-1", "name") == {"default": "The Navy Pant"}
    assert shop.attribute("NEW-1", "upc") == "5012345678917"
    assert [method for method, product_id, _ in shop.sim.product_writes if product_id == "NEW-1"] == ["PUT", "PATCH"]
    # No inventory record was written by the product sync: it sells only once the stock flow gives it one
    assert ("inventory_m", "NEW-1") not in shop.sim.inventory


def test_a_deprecated_cin7_product_sfcc_lacks_is_never_created(shop: Shop) -> None:
    assert shop.sync(product("OLD-1", T0, active=False)) == SyncResult.UNCHANGED
    assert "OLD-1" not in shop.sim.product_documents


def price_calls(shop: Shop) -> int:
    return sum(
        count for route, count in shop.sim.requests.items() if route.startswith("PUT ") and "price_books" in route
    )


def test_tier_prices_go_to_the_price_book_of_each_tier_and_currency_changes_only(shop: Shop) -> None:
    # Given a product whose Cin7 tiers price it for the GBP, EUR and USD list books and the GBP sale book
    tiers = {
        "Tier 1": Decimal("45.00"),
        "Tier 2": Decimal("52.9500"),
        "Tier 3": Decimal("59"),
        "Tier 4": Decimal("39.996"),
    }
    assert shop.sync(product("PRICED-1", T0, prices=tiers)) == SyncResult.CREATED
    assert {key: (v["amount"], v["currency"]) for key, v in shop.sim.prices.items()} == {
        ("gbp-list-prices", "PRICED-1"): (Decimal("45"), "GBP"),
        ("eur-list-prices", "PRICED-1"): (Decimal("52.95"), "EUR"),
        ("usd-list-prices", "PRICED-1"): (Decimal("59"), "USD"),
        ("gbp-sale-prices", "PRICED-1"): (Decimal("40.00"), "GBP"),
    }
    assert price_calls(shop) == 4
    # A later version with the same prices writes none; one tier changed writes that book alone
    assert shop.sync(product("PRICED-1", T0 + timedelta(hours=1), prices=tiers, barcode="5012345678917")) == (
        SyncResult.UPDATED
    )
    assert price_calls(shop) == 4
    changed = {**tiers, "Tier 2": Decimal("49.00")}
    shop.sync(product("PRICED-1", T0 + timedelta(hours=2), prices=changed, barcode="5012345678917"))
    assert price_calls(shop) == 5
    assert shop.sim.prices[("eur-list-prices", "PRICED-1")]["amount"] == Decimal("49")
    assert shop.sim.prices[("gbp-list-prices", "PRICED-1")]["amount"] == Decimal("45")


def test_a_refused_price_is_its_own_exception_and_a_replay_sends_it(shop: Shop) -> None:
    endpoint = shop.sim.price_book_endpoint
    shop.sim.price_book_endpoint = None  # the path answers 404: the site does not serve it
    assert shop.sync(product("PRICED-2", T0, prices={"Tier 1": Decimal("10")})) == SyncResult.CREATED
    assert "PRICED-2" in shop.sim.product_documents  # the product is not held back
    [exception] = shop.rt.exceptions.for_record("sku#PRICED-2", flow="price_sync")
    assert exception.reasons == ("endpoint_unavailable",) and "price_book_endpoint" in exception.detail
    # Fixed at the site, the replay (the same version) sends the price that did not go
    shop.sim.price_book_endpoint = endpoint
    assert shop.sync(product("PRICED-2", T0, prices={"Tier 1": Decimal("10")})) == SyncResult.UNCHANGED
    assert shop.sim.prices[("gbp-list-prices", "PRICED-2")]["amount"] == Decimal("10")
    [resolved] = shop.rt.exceptions.for_record("sku#PRICED-2", flow="price_sync")
    assert resolved.status.value == "resolved"


def test_a_product_path_the_site_does_not_serve_is_quarantined_not_retried(shop: Shop) -> None:
    # Given a site that serves no product documents at the configured path (it answers 404)
    shop.sim.product_endpoint = None
    # When a product syncs / Then it is refused once, with the setting to fix, and not raised for a retry
    assert shop.sync(product("NOPATH-1", T0)) == SyncResult.REJECTED
    [exception] = [e for e in shop.rt.exceptions.list() if e.business_key == "sku#NOPATH-1"]
    assert [str(r) for r in exception.reasons] == ["endpoint_unavailable"]
    assert "products.endpoint" in exception.detail
