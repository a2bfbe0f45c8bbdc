"""Cin7 Core as a CatalogueSource, against the simulator: paging, mapping, deprecation, malformed rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from sandbox.simulators.base import FaultKind, FaultPlan
from sandbox.simulators.cin7_core import Cin7CoreSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.cin7_core.client import Cin7CoreClient
from shared.errors import AuthError
from shared.models.feed import split

RETRY = RetryConfig(max_attempts=3, base_delay_seconds=0.1, max_delay_seconds=1)
PRODUCT_GETS = "GET /externalapi/v2/product"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def simulator(clock: VirtualClock) -> Iterator[Cin7CoreSimulator]:
    sim = Cin7CoreSimulator("acct", "key", clock=clock)
    sim.start()
    yield sim
    sim.stop()


def client_for(
    simulator: Cin7CoreSimulator, clock: VirtualClock, *, key: str = "key", page_limit: int = 2
) -> Cin7CoreClient:
    return Cin7CoreClient(
        f"{simulator.url}ExternalApi/v2/",
        "acct",
        key,
        retry=RETRY,
        clock=clock,
        http=httpx.Client(timeout=5),
        page_limit=page_limit,
    )


def test_feed_pages_by_total_and_yields_each_product_once(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given five products created a second apart
    start = clock.now()
    ids = []
    for n in range(5):
        clock.advance(1)
        ids.append(simulator.add_product(f"TEE-{n}", f"Tee {n}", barcode=f"501234567890{n}", weight=Decimal("0.2")))
    # When the feed is read two rows a page
    with client_for(simulator, clock) as client:
        products = list(client.products_changed_since(start))
    # Then ceil(5/2) = 3 pages were read and every product came once, oldest first, ids lower case
    assert simulator.requests[PRODUCT_GETS] == 3
    assert [p.sku for p in products] == [f"TEE-{n}" for n in range(5)]
    assert [p.source_id for p in products] == [i.lower() for i in ids]
    assert all(p.source == "cin7_core" and p.weight_kg == Decimal("0.2") for p in products)
    assert products[3].barcode == "5012345678903"


def test_modified_since_is_strictly_after(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given one product before the cursor and one after
    simulator.add_product("OLD-1", "Old")
    clock.advance(10)
    cursor = clock.now()
    clock.advance(10)
    simulator.add_product("NEW-1", "New")
    # When the feed is read from the cursor
    with client_for(simulator, clock) as client:
        skus = [p.sku for p in client.products_changed_since(cursor)]
    # Then only the later product comes
    assert skus == ["NEW-1"]


def test_update_bumps_modified_and_deprecation_comes_through_inactive(
    simulator: Cin7CoreSimulator, clock: VirtualClock
) -> None:
    # Given a product synced at the cursor, then deprecated and re-weighed in grams
    product_id = simulator.add_product("CAP-S", "Cap S", weight=Decimal("0.2"), length=Decimal(20))
    clock.advance(5)
    cursor = clock.now()
    clock.advance(5)
    simulator.update_product(product_id, Status="Deprecated", Weight=250, WeightUnits="g")
    # When the feed is read from the cursor
    with client_for(simulator, clock) as client:
        products = list(client.products_changed_since(cursor))
    # Then the product is seen (IncludeDeprecated sent), inactive, weight converted to kg
    assert len(products) == 1
    assert products[0].active is False
    assert products[0].weight_kg == Decimal("0.25")
    assert products[0].length_cm == Decimal(20)
    assert products[0].updated_at > cursor


def test_simulator_leaves_deprecated_out_unless_asked(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given one active and one deprecated product
    simulator.add_product("LIVE-1", "Live")
    simulator.add_product("GONE-1", "Gone", status="Deprecated")
    headers = {"api-auth-accountid": "acct", "api-auth-applicationkey": "key"}
    url = f"{simulator.url}ExternalApi/v2/product"
    # When the list is read with and without IncludeDeprecated
    plain = httpx.get(url, headers=headers).json()
    every = httpx.get(url, params={"IncludeDeprecated": "true"}, headers=headers).json()
    # Then Cin7's default leaves the deprecated one out
    assert [p["SKU"] for p in plain["Products"]] == ["LIVE-1"]
    assert sorted(p["SKU"] for p in every["Products"]) == ["GONE-1", "LIVE-1"]


def test_simulator_filters_sku_partially_and_by_id_and_checks_limits(simulator: Cin7CoreSimulator) -> None:
    first = simulator.add_product("HOODIE-BLK-M", "Hoodie")
    simulator.add_product("HOODIE-BLK-L", "Hoodie")
    simulator.add_product("SOCK-1", "Sock")
    headers = {"api-auth-accountid": "acct", "api-auth-applicationkey": "key"}
    url = f"{simulator.url}ExternalApi/v2/product"
    by_sku = httpx.get(url, params={"Sku": "hoodie-blk"}, headers=headers).json()
    by_id = httpx.get(url, params={"ID": first.upper()}, headers=headers).json()
    too_big = httpx.get(url, params={"limit": 1001}, headers=headers)
    assert by_sku["Total"] == 2
    assert [p["SKU"] for p in by_id["Products"]] == ["HOODIE-BLK-M"]
    assert too_big.status_code == 400
    with pytest.raises(KeyError):
        simulator.update_product("NO-SUCH-SKU", Name="x")


def test_malformed_rows_are_set_aside_and_the_feed_goes_on(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    # Given three products, the middle one with a unit nobody knows and one with a blank SKU
    start = clock.now() - timedelta(seconds=1)
    simulator.add_product("GOOD-1", "Good one")
    clock.advance(1)
    simulator.add_product("ODD-1", "Odd", weight=Decimal(3))
    simulator.update_product("ODD-1", WeightUnits="stone")
    clock.advance(1)
    blank = simulator.add_product("BLANK-1", "Blank")
    simulator.update_product(blank, SKU="  ")
    clock.advance(1)
    simulator.add_product("GOOD-2", "Good two")
    # When the feed is read
    with client_for(simulator, clock) as client:
        products, rejected = split(client.products_changed_since(start))
        # Then the good ones come through and the bad ones come back as data with their reason
        assert [p.sku for p in products] == ["GOOD-1", "GOOD-2"]
        assert [r.row["SKU"] for r in rejected] == ["ODD-1", "  "]
        assert "unknown weight unit" in rejected[0].detail


def test_feed_rides_out_throttling_on_virtual_time(clock: VirtualClock) -> None:
    # Given a simulator that throttles a third of requests
    sim = Cin7CoreSimulator(
        "acct", "key", clock=clock, faults=FaultPlan(rate=0.34, weights={FaultKind.THROTTLE: 1.0}, seed=3)
    )
    sim.start()
    try:
        start = clock.now() - timedelta(seconds=1)
        for n in range(4):
            sim.add_product(f"P-{n}", f"P {n}")
        client = Cin7CoreClient(
            f"{sim.url}ExternalApi/v2/",
            "acct",
            "key",
            clock=clock,
            retry=RetryConfig(max_attempts=8, base_delay_seconds=0.1, max_delay_seconds=1),
            http=httpx.Client(timeout=5),
            page_limit=1,
        )
        # When the feed is read one row a page
        with client:
            skus = [p.sku for p in client.products_changed_since(start)]
        # Then every product arrives and the throttles were retried
        assert sorted(skus) == [f"P-{n}" for n in range(4)]
        assert sim.faults_injected[FaultKind.THROTTLE] >= 1
        assert client.stats.throttled == sim.faults_injected[FaultKind.THROTTLE]
    finally:
        sim.stop()


def test_wrong_key_is_an_auth_error(simulator: Cin7CoreSimulator, clock: VirtualClock) -> None:
    simulator.add_product("ANY-1", "Any")
    with client_for(simulator, clock, key="wrong") as client, pytest.raises(AuthError):
        list(client.products_changed_since(clock.now() - timedelta(days=1)))
