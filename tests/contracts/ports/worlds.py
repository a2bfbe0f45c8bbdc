"""The platform side of a contract test: how a test arranges and inspects a platform behind a port, so one
test runs against a connector on its simulator and against the fake alike.

A world changes the platform as a person there would (places an order, despatches a parcel) and reports
what the platform holds afterwards; the port under test is only ever called through its Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sandbox.simulators.cin7_core_sales import Cin7CoreSalesSimulator
from sandbox.simulators.commercetools import CommercetoolsMock, Seeder
from sandbox.simulators.scend import DEFAULT_WAREHOUSE_ID, ScendSimulator
from sandbox.simulators.sfcc import SfccSimulator, sample_order
from shared.clock import VirtualClock
from shared.connectors.scend import ScendClient
from shared.connectors.sfcc.mapping import format_sfcc_datetime
from shared.connectors.sfcc.ports import shipped_record
from shared.models import Address, Order, OrderLine
from tests.fakes import FakeCommerce, FakeWarehouse


class StockWorld(Protocol):
    location: str  # a location the platform keys stock by, as its rows name it

    def set_stock(self, sku: str, quantity: int) -> None:
        """`quantity` sellable units of `sku` at `location`, nothing allocated."""
        ...


class CommerceWorld(StockWorld, Protocol):
    def add_order(self, order_number: str, lines: list[tuple[str, int]]) -> str:
        """An authorised order placed now; its source id."""
        ...

    def void_order(self, source_id: str) -> None: ...

    def add_product(self, sku: str, name: str) -> None: ...

    def add_unreadable_product(self, sku: str) -> None:
        """A product changed now that the connector cannot map."""
        ...

    def notes(self, source_id: str) -> str: ...

    def shipped(self, source_id: str) -> dict[str, Decimal]: ...


class WarehouseWorld(StockWorld, Protocol):
    def add_product(self, sku: str) -> None: ...

    def place_order(self, reference: str, lines: list[tuple[str, int]]) -> str:
        """An order received now under `reference` (its SKUs put in the catalogue first); its warehouse id."""
        ...

    def despatch(self, warehouse_order_id: str) -> None:
        """The whole order leaves now."""
        ...

    def add_unmappable_despatch(self, warehouse_order_id: str) -> str:
        """The order leaves now but its listed row cannot be mapped; the key its Rejected row carries."""
        ...

    def sellable(self, sku: str) -> int | None:
        """The figure last set for `sku` at `location` through the stock write; None when never set."""
        ...


@dataclass
class Subject:
    """One implementation of a port under test, the world behind it, and the clock both run on."""

    port: Any
    world: Any
    clock: VirtualClock


CIN7_LOCATION = "Scend UK"
SERVICE = "Royal Mail Tracked 48"


def order_for(reference: str, lines: list[tuple[str, int]]) -> Order:
    """An authorised order for `lines` (SKU, quantity) with an address every warehouse accepts; prices include
    tax, and its totals are its lines' sums."""
    return Order(
        source="contract",
        source_id=f"src-{reference}",
        order_number=reference,
        status="ORDERED",
        authorised=True,
        lines=tuple(
            OrderLine(
                sku=sku,
                quantity=Decimal(quantity),
                unit_price=Decimal("10.00"),
                tax=Decimal("1.67"),
                total=Decimal(10 * quantity),
            )
            for sku, quantity in lines
        ),
        shipping_address=Address(name="Jo Smith", line1="1 High St", city="Leeds", postcode="LS1 1AA", country="GB"),
        total=Decimal(10 * sum(quantity for _, quantity in lines)),
        tax_total=Decimal("1.67") * len(lines),
        tax_inclusive=True,
    )


class Cin7CoreWorld:
    """Cin7 Core on both sides: the commerce platform (sales placed there) and the order target (sales made
    through its client, shipped in full through its own pick, pack and ship)."""

    def __init__(self, simulator: Cin7CoreSalesSimulator, client: Any = None):
        self.sim = simulator
        self.client = client
        self.location = CIN7_LOCATION

    def place_order(self, reference: str, lines: list[tuple[str, int]]) -> str:
        for sku, _ in lines:
            self.add_product(sku)
        return str(self.client.create_order(order_for(reference, lines), reference, SERVICE).warehouse_order_id)

    def despatch(self, warehouse_order_id: str) -> None:
        """The warehouse team ships the whole sale in Cin7 (pick, pack, ship with tracking)."""
        sale = self.sim.sale(warehouse_order_id)
        units = {line["SKU"]: int(line["Quantity"]) for line in sale["Order"]["Lines"]}
        self.sim.fulfil(warehouse_order_id, units, tracking=f"JB{warehouse_order_id[:8]}GB")

    def add_unmappable_despatch(self, warehouse_order_id: str) -> str:
        """Shipped in Cin7, with a packed quantity the mapping cannot read."""
        self.despatch(warehouse_order_id)
        with self.sim.lock:
            self.sim._sales[warehouse_order_id]["Fulfilments"][0]["Pack"]["Lines"][0]["Quantity"] = "lots"
        return warehouse_order_id

    def sellable(self, sku: str) -> int | None:
        raise NotImplementedError("Cin7 Core does not claim the stock target role")

    def add_order(self, order_number: str, lines: list[tuple[str, int]]) -> str:
        return self.sim.add_sale(
            order_number=order_number,
            location=self.location,
            lines=[(sku, quantity, Decimal("10.00")) for sku, quantity in lines],
        )

    def void_order(self, source_id: str) -> None:
        self.sim.void_sale(source_id)

    def add_product(self, sku: str, name: str = "") -> None:
        self.sim.add_product(sku, name or sku)

    def add_unreadable_product(self, sku: str) -> None:
        self.sim.add_product(sku, sku, weight=Decimal(3))
        self.sim.update_product(sku, WeightUnits="stone")  # a unit the mapping does not know

    def notes(self, source_id: str) -> str:
        return str(self.sim.sale(source_id)["Note"])

    def shipped(self, source_id: str) -> dict[str, Decimal]:
        return self.sim.shipped_quantities(source_id)

    def set_stock(self, sku: str, quantity: int) -> None:
        self.sim.set_stock(sku, self.location, quantity, two_bins=True)  # two Bin rows: the client sums them


class SfccWorld:
    """An SFCC site: orders placed (new, ready to export, confirmed), cancelled, and what was written back."""

    def __init__(self, simulator: SfccSimulator, tracking_attribute: str):
        self.sim = simulator
        self.attribute = tracking_attribute
        self.location = "inventory_m"

    def add_order(self, order_number: str, lines: list[tuple[str, int]]) -> str:
        order = sample_order(order_number, self.sim.clock.now(), site_id=self.sim.site_id)
        [item] = order["productItems"]
        order["productItems"] = [
            {**item, "itemId": f"{order_number}-{n}", "productId": sku, "quantity": quantity}
            for n, (sku, quantity) in enumerate(lines, start=1)
        ]
        self.sim.add_order(order)
        return order_number

    def void_order(self, source_id: str) -> None:
        with self.sim.lock:
            self.sim.orders[source_id]["status"] = "cancelled"
            self.sim.orders[source_id]["lastModified"] = format_sfcc_datetime(self.sim.clock.now())

    def add_product(self, sku: str, name: str = "") -> None:
        """In the site's catalogue, so its inventory record may be written (SFCC as stock target)."""
        self.sim.add_product(sku)

    def sellable(self, sku: str) -> int | None:
        """The allocation last written for `sku` in the inventory list; None when it has no record."""
        with self.sim.lock:
            record = self.sim.inventory.get((self.location, sku))
            return None if record is None else int(record["allocation"]["amount"])

    def add_unreadable_product(self, sku: str) -> None:
        raise NotImplementedError("SFCC does not claim the catalogue source role")

    def notes(self, source_id: str) -> str:
        raise NotImplementedError("SFCC does not claim the note target role")

    def shipped(self, source_id: str) -> dict[str, Decimal]:
        with self.sim.lock:
            return shipped_record(self.sim.orders[source_id], self.attribute)[1]

    def set_stock(self, sku: str, quantity: int) -> None:
        raise NotImplementedError("SFCC does not claim the stock master role")


class CommercetoolsWorld:
    """The vendor's commercetools mock, pinned to the test's clock before every change a person makes, so
    its lastModifiedAt stamps are on the same clock the changed-since reads are asked on."""

    location = "WH1"

    def __init__(self, mock: CommercetoolsMock, seeder: Seeder, clock: VirtualClock, settings: Any):
        self.mock = mock
        self.seeder = seeder
        self.clock = clock
        self.settings = settings
        self.channel = settings.supply_channels[self.location]
        self._products: set[str] = set()

    def _now(self) -> None:
        self.mock.pin_clock(self.clock.now())

    def add_product(self, sku: str, name: str = "") -> None:
        self._now()
        self.seeder.product([sku], name=name or f"Product {sku}")
        self._products.add(sku)

    def add_unreadable_product(self, sku: str) -> None:
        self._now()  # a SKU with a trailing space: it cannot travel as spelled, and is never trimmed
        self.seeder.product([f"{sku} "], name=f"Odd {sku}")

    def add_order(self, order_number: str, lines: list[tuple[str, int]]) -> str:
        for sku, _ in lines:
            if sku not in self._products:
                self.add_product(sku)
        self._now()
        order = self.seeder.order(lines, order_number=order_number)
        self.seeder.update(f"orders/{order['id']}", [{"action": "changePaymentState", "paymentState": "Paid"}])
        return str(order["id"])

    def void_order(self, source_id: str) -> None:
        self._now()
        self.seeder.update(f"orders/{source_id}", [{"action": "changeOrderState", "orderState": "Cancelled"}])

    def notes(self, source_id: str) -> str:
        custom = self.seeder.get(f"orders/{source_id}").get("custom") or {}
        return str(custom.get("fields", {}).get(self.settings.notes_field, ""))

    def shipped(self, source_id: str) -> dict[str, Decimal]:
        order = self.seeder.get(f"orders/{source_id}")
        sku_of = {item["id"]: item["variant"]["sku"] for item in order["lineItems"]}
        shipped: dict[str, Decimal] = {}
        for delivery in (order.get("shippingInfo") or {}).get("deliveries", []):
            for item in delivery["items"]:
                sku = sku_of[item["id"]]
                shipped[sku] = shipped.get(sku, Decimal(0)) + Decimal(item["quantity"])
        return shipped

    def _entry(self, sku: str) -> dict[str, Any] | None:
        where = f'sku = "{sku}" and supplyChannel(id = "{self.channel}")'
        rows = self.seeder.get("inventory", where=where)["results"]
        return rows[0] if rows else None

    def set_stock(self, sku: str, quantity: int) -> None:
        self._now()
        entry = self._entry(sku)
        if entry is None:
            self.seeder.inventory(sku, self.channel, quantity)
        else:
            self.seeder.update(f"inventory/{entry['id']}", [{"action": "changeQuantity", "quantity": quantity}])

    def sellable(self, sku: str) -> int | None:
        entry = self._entry(sku)
        return None if entry is None else int(entry["quantityOnStock"])


class ScendWorld:
    def __init__(self, simulator: ScendSimulator, client: ScendClient):
        self.sim = simulator
        self.client = client  # orders reach the simulator only over its API
        self.location = str(DEFAULT_WAREHOUSE_ID)

    def add_product(self, sku: str) -> None:
        self.sim.add_product(sku)

    def place_order(self, reference: str, lines: list[tuple[str, int]]) -> str:
        for sku, _ in lines:
            self.add_product(sku)
        return self.client.create_order(order_for(reference, lines), reference, SERVICE).warehouse_order_id

    def despatch(self, warehouse_order_id: str) -> None:
        self.sim.ship_now(int(warehouse_order_id))

    def add_unmappable_despatch(self, warehouse_order_id: str) -> str:
        self.despatch(warehouse_order_id)
        with self.sim.lock:  # as a row listed without its order number
            self.sim._orders[int(warehouse_order_id)]["OrderNumber"] = ""
        return warehouse_order_id

    def set_stock(self, sku: str, quantity: int) -> None:
        self.sim.set_stock(sku, quantity, warehouse_id=int(self.location))

    def sellable(self, sku: str) -> int | None:
        with self.sim.lock:
            return self.sim.channel_stock.get((sku, int(self.location)))


class FakeCommerceWorld:
    def __init__(self, fake: FakeCommerce):
        self.fake = fake
        self.location = "Main"

    def add_order(self, order_number: str, lines: list[tuple[str, int]]) -> str:
        return self.fake.add_order(order_number, lines, location=self.location)

    def void_order(self, source_id: str) -> None:
        self.fake.void(source_id)

    def add_product(self, sku: str, name: str) -> None:
        self.fake.add_product(sku, name)

    def add_unreadable_product(self, sku: str) -> None:
        self.fake.add_unreadable("products", {"SKU": sku, "WeightUnits": "stone"}, "unknown weight unit", key=sku)

    def notes(self, source_id: str) -> str:
        return "\n".join(self.fake.orders[source_id].notes)

    def shipped(self, source_id: str) -> dict[str, Decimal]:
        return self.fake.shipped(source_id)

    def set_stock(self, sku: str, quantity: int) -> None:
        self.fake.set_stock(sku, self.location, quantity)


class FakeWarehouseWorld:
    def __init__(self, fake: FakeWarehouse):
        self.fake = fake
        self.location = "W1"

    def add_product(self, sku: str) -> None:
        self.fake.add_product(sku)

    def place_order(self, reference: str, lines: list[tuple[str, int]]) -> str:
        for sku, _ in lines:
            self.add_product(sku)
        calls = len(self.fake.calls)
        order_id = self.fake.create_order(order_for(reference, lines), reference, SERVICE).warehouse_order_id
        del self.fake.calls[calls:]  # arranged by the world, not asked by the test
        return order_id

    def despatch(self, warehouse_order_id: str) -> None:
        self.fake.despatch(warehouse_order_id)

    def add_unmappable_despatch(self, warehouse_order_id: str) -> str:
        self.fake.orders[warehouse_order_id].status = self.fake.despatched_code
        self.fake.add_unreadable_despatch(
            {"ID": warehouse_order_id, "OrderNumber": ""}, "field 'OrderNumber': required", key=warehouse_order_id
        )
        return warehouse_order_id

    def set_stock(self, sku: str, quantity: int) -> None:
        self.fake.set_stock(sku, self.location, quantity)

    def sellable(self, sku: str) -> int | None:
        return self.fake.sellable.get((sku, self.location))


# Structural checks, run by mypy: each world offers what the contract tests ask of its side.
_commerce: type[CommerceWorld] = Cin7CoreWorld
_fake_commerce: type[CommerceWorld] = FakeCommerceWorld
_sfcc: type[CommerceWorld] = SfccWorld
_warehouse: type[WarehouseWorld] = ScendWorld
_cin7_target: type[WarehouseWorld] = Cin7CoreWorld
_ct_commerce: type[CommerceWorld] = CommercetoolsWorld
_ct_warehouse: type[WarehouseWorld] = CommercetoolsWorld  # as a stock target, it plays the warehouse's side
_fake_warehouse: type[WarehouseWorld] = FakeWarehouseWorld
