"""StockSource (the master, and the other side read for drift): one row per SKU and location, and the
`skus=` and `location=` filters are exact."""

from __future__ import annotations

from decimal import Decimal

from shared.connectors.spec import Role
from shared.models.feed import split
from shared.ports import StockSource
from tests.contracts.ports.worlds import StockWorld, Subject

ROLES = {Role.STOCK_MASTER, Role.STOCK_READER}


def test_rows_per_sku_at_its_location_with_an_exact_sku_filter(subject: Subject, unique: str) -> None:
    port: StockSource = subject.port
    world: StockWorld = subject.world
    sku, longer, other = f"MUG-{unique}", f"MUG-{unique}-XL", f"CAP-{unique}"
    world.set_stock(sku, 5)
    world.set_stock(longer, 9)  # a SKU the first one is a prefix of: a partial match must not count
    world.set_stock(other, 7)
    rows, rejected = split(port.stock_levels([sku]))
    assert rejected == []
    assert [(row.sku, row.location, row.available) for row in rows] == [(sku, world.location, Decimal(5))]
    both, _ = split(port.stock_levels([sku, other]))
    assert sorted((row.sku, row.available) for row in both) == [(other, Decimal(7)), (sku, Decimal(5))]


def test_the_location_filter_is_exact_and_no_filter_lists_every_row(subject: Subject, unique: str) -> None:
    port: StockSource = subject.port
    world: StockWorld = subject.world
    sku = f"BAG-{unique}"
    world.set_stock(sku, 3)
    at, _ = split(port.stock_levels([sku], location=world.location))
    assert [(row.sku, row.available) for row in at] == [(sku, Decimal(3))]
    assert split(port.stock_levels([sku], location=f"{world.location}-elsewhere"))[0] == []
    every, _ = split(port.stock_levels())
    assert [(row.location, row.available) for row in every if row.sku == sku] == [(world.location, Decimal(3))]
    assert split(port.stock_levels([f"NONE-{unique}"]))[0] == []
