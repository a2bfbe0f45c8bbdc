"""ShipmentSource: a despatched order is reported since its despatch time, and a row the connector cannot map
comes back as Rejected beside the others."""

from __future__ import annotations

from decimal import Decimal

from shared.connectors.spec import Role
from shared.models.feed import Rejected, split
from shared.models.shipment import Shipment
from shared.ports import ShipmentSource
from tests.contracts.ports.worlds import Subject, WarehouseWorld

ROLES = {Role.SHIPMENT_SOURCE}


def test_a_despatched_order_is_a_shipment_since_its_despatch_and_not_after(subject: Subject, unique: str) -> None:
    port: ShipmentSource = subject.port
    world: WarehouseWorld = subject.world
    reference, sku = f"EXA-SO-{unique}", f"TEE-{unique}"
    order_id = world.place_order(reference, [(sku, 2)])
    before = subject.clock.now()
    subject.clock.advance(60)
    assert reference not in {s.client_reference for s in split(port.shipments_since(before))[0]}
    world.despatch(order_id)
    despatched_at = subject.clock.now()
    [shipment] = [s for s in split(port.shipments_since(before))[0] if s.client_reference == reference]
    assert isinstance(shipment, Shipment)
    assert shipment.warehouse_order_id == order_id and shipment.parcel_id
    assert shipment.despatched_at == despatched_at
    assert [(line.sku, line.quantity) for line in shipment.lines] == [(sku, Decimal(2))]
    assert shipment.tracking_numbers
    subject.clock.advance(60)
    assert reference not in {s.client_reference for s in split(port.shipments_since(subject.clock.now()))[0]}


def test_an_unmappable_despatch_comes_back_as_rejected_and_the_rest_still_arrive(subject: Subject, unique: str) -> None:
    port: ShipmentSource = subject.port
    world: WarehouseWorld = subject.world
    spoilt = world.place_order(f"EXA-SO-{unique}-A", [(f"TEE-{unique}", 1)])
    good = world.place_order(f"EXA-SO-{unique}-B", [(f"CAP-{unique}", 1)])
    before = subject.clock.now()
    subject.clock.advance(60)
    key = world.add_unmappable_despatch(spoilt)
    world.despatch(good)
    shipments, rejected = split(port.shipments_since(before))
    assert f"EXA-SO-{unique}-B" in {s.client_reference for s in shipments}
    [bad] = [r for r in rejected if r.key == key]
    assert isinstance(bad, Rejected) and bad.detail
    assert spoilt not in {s.warehouse_order_id for s in shipments}
