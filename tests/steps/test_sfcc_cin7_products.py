"""Cin7 Core products into SFCC with field-level ownership, through the sync step (moto stores, the SFCC
simulator over HTTP): a field SFCC owns is never overwritten by a sync, one Cin7 owns always follows Cin7, and
a SKU is created in SFCC only from Cin7, offline, and sells only once the stock flow gives it an allocation.
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
from shared.steps.catalogue import SyncResult, sync_product
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
    sim = SfccSimulator("hopline-orders", "s3cret", clock=hopline.clock, product_endpoint="products/{product_id}")
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
