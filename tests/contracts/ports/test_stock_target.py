"""StockTarget: absolute figures are set and read back at the platform; a SKU it does not hold is refused
row by row while the rest stand."""

from __future__ import annotations

from shared.connectors.spec import Role
from shared.models.stock import StockPush
from shared.ports import StockTarget
from tests.contracts.ports.worlds import Subject, WarehouseWorld

ROLES = {Role.STOCK_TARGET}


def test_a_pushed_figure_is_set_absolutely(subject: Subject, unique: str) -> None:
    port: StockTarget = subject.port
    world: WarehouseWorld = subject.world
    assert port.accepts_stock_writes
    assert port.push_batch_size >= 1
    sku = f"TEE-{unique}"
    world.add_product(sku)
    assert port.push_stock([StockPush(sku=sku, location=world.location, quantity=4)]) == []
    assert world.sellable(sku) == 4
    # The same figure again changes nothing; a new one replaces it (never added to it)
    assert port.push_stock([StockPush(sku=sku, location=world.location, quantity=4)]) == []
    assert world.sellable(sku) == 4
    assert port.push_stock([StockPush(sku=sku, location=world.location, quantity=1)]) == []
    assert world.sellable(sku) == 1


def test_an_unknown_sku_is_refused_and_the_rest_of_the_batch_stands(subject: Subject, unique: str) -> None:
    port: StockTarget = subject.port
    world: WarehouseWorld = subject.world
    known, unknown = f"CAP-{unique}", f"GHOST-{unique}"
    world.add_product(known)
    rejected = port.push_stock(
        [
            StockPush(sku=unknown, location=world.location, quantity=2),
            StockPush(sku=known, location=world.location, quantity=6),
        ]
    )
    assert [(r.sku, r.location) for r in rejected] == [(unknown, world.location)]
    assert rejected[0].message
    assert world.sellable(known) == 6
    assert world.sellable(unknown) is None
