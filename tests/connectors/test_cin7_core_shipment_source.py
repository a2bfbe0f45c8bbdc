"""Cin7 Core as a ShipmentSource against the simulator: what people ship in Cin7 on Hopline's sales is reported
once per ship line, part shipments included, and other channels' sales are left alone."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from sandbox.simulators.cin7_core_sales import Cin7CoreSalesSimulator
from shared.clock import VirtualClock
from shared.config import RetryConfig
from shared.connectors.cin7_core.settings import Cin7SalesSettings
from shared.connectors.cin7_core.shipment_source import Cin7CoreShipmentSource, parcel_key
from shared.models.feed import split
from shared.models.shipment import Shipment

RETRY = RetryConfig(max_attempts=2, base_delay_seconds=0.1, max_delay_seconds=1, timeout_seconds=5)
LOCATION = "Main Warehouse"


@pytest.fixture
def simulator(clock: VirtualClock) -> Iterator[Cin7CoreSalesSimulator]:
    sim = Cin7CoreSalesSimulator("acct-1", "key-1", clock=clock, calls_per_minute=100_000)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def source(simulator: Cin7CoreSalesSimulator, clock: VirtualClock) -> Iterator[Cin7CoreShipmentSource]:
    client = Cin7CoreShipmentSource(
        f"{simulator.url}ExternalApi/v2/",
        "acct-1",
        "key-1",
        retry=RETRY,
        clock=clock,
        sales=Cin7SalesSettings(location=LOCATION, tax_rule="20% (VAT on Income)"),
    )
    yield client
    client.close()


def our_sale(sim: Cin7CoreSalesSimulator, reference: str) -> str:
    """An authorised sale as Hopline posts one: our reference in ExternalID."""
    sale_id = sim.add_sale(
        order_number=f"SO-{reference}",
        location=LOCATION,
        lines=[("TEE-BLK-M", 2, Decimal("12.50")), ("CAP-NVY-S", 1, Decimal("8.95"))],
    )
    sim.update_sale(sale_id, ExternalID=reference)
    return sale_id


def shipped(source: Cin7CoreShipmentSource, since: object) -> list[Shipment]:
    shipments, rejected = split(source.shipments_since(since))  # type: ignore[arg-type]
    assert rejected == []
    return shipments


def test_a_part_shipment_then_the_rest_are_two_shipments_each_reported_under_a_stable_key(
    simulator: Cin7CoreSalesSimulator, source: Cin7CoreShipmentSource, clock: VirtualClock
) -> None:
    # Given one of our sales shipped in two boxes on two tasks
    start = clock.now()
    sale_id = our_sale(simulator, "EXS-00000410")
    clock.advance(60)
    first_task = simulator.fulfil(sale_id, {"TEE-BLK-M": 1}, tracking="JB000000001GB", carrier="Royal Mail")
    clock.advance(60)
    part = shipped(source, start)
    clock.advance(60)
    second_task = simulator.fulfil(
        sale_id, {"TEE-BLK-M": 1, "CAP-NVY-S": 1}, tracking="JB000000002GB", carrier="DPD", box="Box 2"
    )
    # When the feed is read again over the whole window
    both = shipped(source, start)
    # Then the part shipment was reported alone, and again under the same key beside the rest
    assert [(s.parcel_id, s.tracking_numbers) for s in part] == [
        (parcel_key(first_task, ["Box 1"]), ("JB000000001GB",))
    ]
    assert [s.parcel_id for s in both] == [parcel_key(first_task, ["Box 1"]), parcel_key(second_task, ["Box 2"])]
    assert {s.client_reference for s in both} == {"EXS-00000410"} and {s.warehouse_order_id for s in both} == {sale_id}
    assert [(line.sku, line.quantity) for line in both[1].lines] == [("TEE-BLK-M", 1), ("CAP-NVY-S", 1)]
    assert both[1].carrier == "DPD" and both[0].despatched_at <= both[0].updated_at


def test_a_sale_re_listed_unchanged_is_not_read_again_and_nothing_is_listed_after_it(
    simulator: Cin7CoreSalesSimulator, source: Cin7CoreShipmentSource, clock: VirtualClock
) -> None:
    start = clock.now()
    sale_id = our_sale(simulator, "EXS-00000411")
    clock.advance(60)  # UpdatedSince lists sales changed after the moment given
    simulator.fulfil(sale_id, {"TEE-BLK-M": 2, "CAP-NVY-S": 1}, tracking="JB000000003GB")
    assert len(shipped(source, start)) == 1
    reads = simulator.requests["GET /externalapi/v2/sale"]
    listings = simulator.requests["GET /externalapi/v2/salelist"]
    # When the overlap lists it again, unchanged
    assert len(shipped(source, start)) == 1
    # Then one listing call and no second read of the sale; and a window after its last change lists nothing
    assert simulator.requests["GET /externalapi/v2/sale"] == reads
    assert simulator.requests["GET /externalapi/v2/salelist"] == listings + 1
    clock.advance(60)
    assert shipped(source, clock.now()) == []


def test_a_sale_changed_but_not_shipped_is_not_read(
    simulator: Cin7CoreSalesSimulator, source: Cin7CoreShipmentSource, clock: VirtualClock
) -> None:
    start = clock.now()
    sale_id = our_sale(simulator, "EXS-00000413")
    clock.advance(60)
    simulator.fulfil(sale_id, {"TEE-BLK-M": 2}, tracking="", until="pack")
    assert shipped(source, start) == []
    assert simulator.requests["GET /externalapi/v2/sale"] == 0


def test_sales_of_other_channels_are_not_reported(
    simulator: Cin7CoreSalesSimulator, source: Cin7CoreShipmentSource, clock: VirtualClock
) -> None:
    start = clock.now()
    theirs = simulator.add_sale(order_number="SO-POS-1", location=LOCATION, lines=[("TEE-BLK-M", 1, Decimal(10))])
    abandoned = our_sale(simulator, "EXS-00000412~refused")
    clock.advance(60)
    for sale_id in (theirs, abandoned):
        simulator.fulfil(sale_id, {"TEE-BLK-M": 1}, tracking="JB000000004GB")
    assert shipped(source, start) == []
