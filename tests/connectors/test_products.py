"""Product connectors against the simulators: Cin7 product feed, Scend item create/update with validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from sandbox.simulators.cin7_core import Cin7CoreSimulator
from sandbox.simulators.scend import ScendSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.cin7_core.client import Cin7CoreClient
from shared.connectors.scend.client import ScendClient
from shared.errors import PermanentError
from shared.models import ReasonCode
from shared.models.product import Product

RETRY = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=1)
WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def cin7(clock: VirtualClock) -> Iterator[tuple[Cin7CoreSimulator, Cin7CoreClient]]:
    simulator = Cin7CoreSimulator("acct", "key", clock=clock)
    simulator.start()
    client = Cin7CoreClient(f"{simulator.url}ExternalApi/v2/", "acct", "key", retry=RETRY, clock=clock,
                            http=httpx.Client(timeout=5), page_limit=2)
    yield simulator, client
    client.close()
    simulator.stop()


@pytest.fixture
def scend(clock: VirtualClock) -> Iterator[tuple[ScendSimulator, ScendClient]]:
    simulator = ScendSimulator("skey", clock=clock)
    simulator.start()
    client = ScendClient(f"{simulator.url}api/", "skey", retry=RETRY, clock=clock, http=httpx.Client(timeout=5))
    yield simulator, client
    client.close()
    simulator.stop()


def product(sku: str = "HOODIE-NEW-M", **changes: object) -> Product:
    base: dict[str, object] = {"source": "cin7_core", "source_id": "p1", "sku": sku, "name": "Hoodie",
                               "barcode": "5012345678900", "weight_kg": Decimal("0.650"), "updated_at": WHEN}
    base.update(changes)
    return Product.model_validate(base)


def test_cin7_product_feed_pages_and_maps_units(cin7: tuple[Cin7CoreSimulator, Cin7CoreClient],
                                               clock: VirtualClock) -> None:
    simulator, client = cin7
    start = clock.now()
    for n in range(5):
        clock.advance(1)
        simulator.add_product(f"SKU-{n}", f"Item {n}", weight=Decimal("1.5"), length=Decimal(30))
    simulator.update_product("SKU-0", Weight=1500, WeightUnits="g", Status="Deprecated")
    products = list(client.products_changed_since(start))
    # Five products over three pages of two; the gram weight is converted; deprecated is inactive
    assert sorted(p.sku for p in products) == [f"SKU-{n}" for n in range(5)]
    first = next(p for p in products if p.sku == "SKU-0")
    assert first.weight_kg == Decimal("1.5")
    assert first.active is False
    assert next(p for p in products if p.sku == "SKU-1").length_cm == Decimal(30)
    assert simulator.requests["GET /externalapi/v2/product"] == 3


def test_cin7_product_with_unknown_unit_is_set_aside_not_fatal(cin7: tuple[Cin7CoreSimulator, Cin7CoreClient],
                                                              clock: VirtualClock) -> None:
    simulator, client = cin7
    start = clock.now() - timedelta(seconds=1)
    simulator.add_product("GOOD-1", "Good")
    simulator.add_product("BAD-1", "Bad", weight=Decimal(2))
    simulator.update_product("BAD-1", WeightUnits="stone")
    assert [p.sku for p in client.products_changed_since(start)] == ["GOOD-1"]
    assert "unknown weight unit" in client.rejected_products[0]["error"]


def test_scend_create_find_and_update_only_listed_fields(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    created = client.create_product(product())
    found = client.find_product("HOODIE-NEW-M")
    assert found is not None
    assert found.item_id == created.item_id
    assert found.fields["barcode"] == "5012345678900"
    client.update_product(found, product(name="Hoodie v2", weight_kg=Decimal(9)), ("name",))
    held = simulator.product("HOODIE-NEW-M")
    assert held["Name"] == "Hoodie v2"
    assert held["Weight"] == 0.65  # not listed, so not sent
    assert client.find_product("hoodie-new-m") is None  # exact, case-sensitive


def test_scend_duplicate_create_resolves_to_the_existing_item(scend: tuple[ScendSimulator, ScendClient]) -> None:
    simulator, client = scend
    first = client.create_product(product())
    again = client.create_product(product())
    assert again.item_id == first.item_id
    assert simulator.product_writes == 2


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"sku": "BAD SKU"}, ReasonCode.SKU_INVALID), ({"barcode": "12AB"}, ReasonCode.WAREHOUSE_REJECTED)],
)
def test_scend_validation_refusals_are_permanent(scend: tuple[ScendSimulator, ScendClient], changes: dict,
                                                 reason: ReasonCode) -> None:
    _, client = scend
    with pytest.raises(PermanentError) as error:
        client.create_product(product(**changes))
    assert error.value.reason == reason
