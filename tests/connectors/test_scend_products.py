"""Scend as a CatalogueTarget, against the simulator: create, find, update only listed fields, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.scend.client import ScendClient
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.product import PRODUCT_FIELDS, Product, WarehouseProduct

RETRY = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=1)
WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def scend(clock: VirtualClock) -> Iterator[tuple[ScendSimulator, ScendClient]]:
    simulator = ScendSimulator("skey", clock=clock)
    simulator.start()
    client = ScendClient(
        f"{simulator.url}api/", "skey", client_id=3, retry=RETRY, clock=clock, http=httpx.Client(timeout=5)
    )
    yield simulator, client
    client.close()
    simulator.stop()


def product(sku: str = "HOODIE-BLK-M", **changes: object) -> Product:
    base: dict[str, object] = {
        "source": "cin7_core",
        "source_id": "p1",
        "sku": sku,
        "name": "Hoodie black M",
        "barcode": "5012345678900",
        "weight_kg": Decimal("0.650"),
        "length_cm": Decimal(30),
        "width_cm": Decimal(25),
        "height_cm": Decimal(4),
        "commodity_code": "6110209100",
        "country_of_origin": "PT",
        "customs_description": "Cotton hoodie",
        "updated_at": WHEN,
    }
    base.update(changes)
    return Product.model_validate(base)


def test_create_sends_every_field_in_one_call_and_find_reads_it_back(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    # When a new product is created
    created = client.create_product(product())
    # Then one write carried every mapped field under its Scend name
    assert simulator.product_writes == 1
    assert client.stats.calls == 1
    held = simulator.product("HOODIE-BLK-M")
    assert held is not None
    assert held["ID"] == int(created.item_id)
    assert held["ClientId"] == 3
    assert (held["Name"], held["EAN"], held["Weight"]) == ("Hoodie black M", "5012345678900", 0.65)
    assert (held["Depth"], held["Width"], held["Height"]) == (30, 25, 4)
    assert (held["CommodityCode"], held["CountryOfManufacture"]) == ("6110209100", "PT")
    assert held["CustomsDescription"] == "Cotton hoodie"
    # And find_product (one search) returns the same item with the same canonical fields
    found = client.find_product("HOODIE-BLK-M")
    assert found is not None
    assert found.item_id == created.item_id
    assert set(found.fields) == set(PRODUCT_FIELDS)
    assert found.fields["barcode"] == created.fields["barcode"] == "5012345678900"
    assert Decimal(found.fields["weight_kg"]) == Decimal(created.fields["weight_kg"]) == Decimal("0.65")


def test_find_is_exact_and_case_sensitive(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    # Given the warehouse holds HOODIE-BLK-M and HOODIE-BLK-ML (a partial search matches both)
    simulator.add_product("HOODIE-BLK-ML", "Hoodie ML")
    simulator.add_product("HOODIE-BLK-M", "Hoodie M")
    # Then only the exact spelling is found
    found = client.find_product("HOODIE-BLK-M")
    assert found is not None and found.sku == "HOODIE-BLK-M"
    assert found.fields["name"] == "Hoodie M"
    assert client.find_product("hoodie-blk-m") is None
    assert client.find_product("HOODIE-BLK") is None
    assert client.find_product("  ") is None


def test_update_sends_only_the_listed_fields(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    # Given an item the warehouse has since re-measured (it owns weight and sizes)
    created = client.create_product(product())
    simulator.add_product("HOODIE-BLK-M", **{**simulator.product("HOODIE-BLK-M"), "Weight": 0.7, "Depth": 31})
    # When the source renames it and changes its weight, but only name and barcode are ours to send
    client.update_product(
        created, product(name="Hoodie black M v2", barcode="5012345678917", weight_kg=Decimal(9)), ("name", "barcode")
    )
    # Then name and barcode changed, and the warehouse's weight and depth were left alone
    held = simulator.product("HOODIE-BLK-M")
    assert (held["Name"], held["EAN"]) == ("Hoodie black M v2", "5012345678917")
    assert (held["Weight"], held["Depth"]) == (0.7, 31)
    assert simulator.product_writes == 2


def test_update_with_no_fields_makes_no_call(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    created = client.create_product(product())
    calls = client.stats.calls
    client.update_product(created, product(name="Other"), ())
    assert client.stats.calls == calls
    assert simulator.product("HOODIE-BLK-M")["Name"] == "Hoodie black M"


def test_update_of_an_unknown_item_is_refused(scend: tuple[ScendSimulator, ScendClient]) -> None:
    _, client = scend
    ghost = WarehouseProduct(item_id="999999", sku="HOODIE-BLK-M")
    with pytest.raises(PermanentError) as error:
        client.update_product(ghost, product(), ("name",))
    assert error.value.reason == ReasonCode.WAREHOUSE_REJECTED
    assert "not found" in error.value.detail


def test_duplicate_create_resolves_to_the_existing_item(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    # Given the SKU already exists (a create whose response was lost, or made by hand)
    first = client.create_product(product())
    # When it is created again
    again = client.create_product(product(name="Changed"))
    # Then the existing item comes back (PUT refused, then one search), nothing was overwritten
    assert again.item_id == first.item_id
    assert simulator.product_writes == 2
    assert simulator.product("HOODIE-BLK-M")["Name"] == "Hoodie black M"


@pytest.mark.parametrize("sku", ["BAD SKU", " LEAD", "TRAIL ", "TAB\tSKU", "X" * 51, "SKU-\x07"])
def test_invalid_sku_is_sku_invalid(scend: tuple[ScendSimulator, ScendClient], sku: str) -> None:
    simulator, client = scend
    with pytest.raises(PermanentError) as error:
        client.create_product(product(sku=sku))
    assert error.value.reason == ReasonCode.SKU_INVALID
    assert "Invalid SKU" in error.value.detail
    assert not simulator.has_product(sku)


@pytest.mark.parametrize("barcode", ["12AB", "1234567", "12345678901"])
def test_invalid_ean_is_warehouse_rejected_even_when_the_sku_says_sku(
    scend: tuple[ScendSimulator, ScendClient], barcode: str
) -> None:
    _, client = scend
    with pytest.raises(PermanentError) as error:
        client.create_product(product(sku="SKU-123", barcode=barcode))
    assert error.value.reason == ReasonCode.WAREHOUSE_REJECTED
    assert "Invalid EAN" in error.value.detail


def test_blank_name_is_refused_on_create_and_update(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    with pytest.raises(PermanentError) as on_create:
        client.create_product(product(sku="NONAME-1", name=""))
    created = client.create_product(product())
    held_before = simulator.product("HOODIE-BLK-M")
    with pytest.raises(PermanentError) as on_update:
        client.update_product(created, product(name="  "), ("name",))
    assert on_create.value.reason == on_update.value.reason == ReasonCode.WAREHOUSE_REJECTED
    assert simulator.product("HOODIE-BLK-M") == held_before


def test_simulator_reset_clears_catalogue_and_write_counter(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    client.create_product(product())
    simulator.reset()
    assert simulator.product_writes == 0
    assert not simulator.has_product("HOODIE-BLK-M")
