"""ShipmentTarget: a parcel is written back once, its progress token claimed before the first write."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shared.connectors.spec import Role
from shared.models.shipment import Shipment, ShipmentLine
from shared.ports import ShipmentTarget
from tests.contracts.ports.worlds import CommerceWorld, Subject

ROLES = {Role.SHIPMENT_TARGET}


def parcel(parcel_id: str, at: datetime, *lines: tuple[str, int]) -> Shipment:
    return Shipment(
        warehouse="warehouse",
        parcel_id=parcel_id,
        warehouse_order_id="50001",
        client_reference="REF-1",
        despatched_at=at,
        carrier="Royal Mail",
        service="Royal Mail Tracked 48",
        tracking_numbers=(f"JB{parcel_id:0>9}GB",),
        lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(q)) for sku, q in lines),
        updated_at=at,
    )


def test_a_parcel_is_written_once_and_its_token_is_remembered_before_the_write(subject: Subject, unique: str) -> None:
    port: ShipmentTarget = subject.port
    world: CommerceWorld = subject.world
    sku = f"TEE-{unique}"
    source_id = world.add_order(f"SO-{unique}", [(sku, 2)])
    first = parcel(f"7{unique}1", subject.clock.now(), (sku, 1))
    progress: dict[str, str] = {}
    shipped_when_remembered: list[dict[str, Decimal]] = []

    def remember(token: str) -> None:
        shipped_when_remembered.append(world.shipped(source_id))
        progress[first.parcel_id] = token

    port.write_shipment(source_id, first, location=world.location, progress=progress, remember=remember)
    # The token was claimed once, before anything was written, and the parcel is now shipped
    assert shipped_when_remembered == [{}]
    assert progress[first.parcel_id]
    assert world.shipped(source_id) == {sku: Decimal(1)}
    # The same parcel again (a redelivery), with its token: nothing more is written, nothing claimed
    port.write_shipment(
        source_id,
        first,
        location=world.location,
        progress=dict(progress),
        remember=lambda token: shipped_when_remembered.append({"claimed": Decimal(0)}),
    )
    assert world.shipped(source_id) == {sku: Decimal(1)}
    assert len(shipped_when_remembered) == 1


def test_a_second_parcel_claims_its_own_token_and_ships_the_rest(subject: Subject, unique: str) -> None:
    port: ShipmentTarget = subject.port
    world: CommerceWorld = subject.world
    tee, cap = f"TEE-{unique}", f"CAP-{unique}"
    source_id = world.add_order(f"SO-{unique}", [(tee, 2), (cap, 1)])
    progress: dict[str, str] = {}
    for parcel_id, lines in ((f"7{unique}1", [(tee, 1)]), (f"7{unique}2", [(tee, 1), (cap, 1)])):
        shipment = parcel(parcel_id, subject.clock.now(), *lines)

        def remember(token: str, parcel_id: str = parcel_id) -> None:
            progress[parcel_id] = token

        port.write_shipment(source_id, shipment, location=world.location, progress=dict(progress), remember=remember)
    assert len(progress) == 2 and len(set(progress.values())) == 2
    assert world.shipped(source_id) == {tee: Decimal(2), cap: Decimal(1)}
