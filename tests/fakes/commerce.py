"""An in-memory commerce platform (the Cin7 Core side): orders, products, stock, notes and shipments
written back, behind OrderSource, ShipmentTarget, CatalogueSource, StockSource, CancelSource and NoteTarget."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.errors import NotFoundError, PermanentError
from shared.models import Address, Order, OrderLine, ReasonCode
from shared.models.feed import Rejected
from shared.models.product import Product
from shared.models.shipment import Shipment
from shared.models.stock import StockRow
from shared.ports import (
    CancelSource,
    CatalogueSource,
    NoteTarget,
    OrderChange,
    OrderSource,
    ShipmentTarget,
    StockSource,
)
from tests.fakes.base import FakePlatform

ADDRESS = Address(name="Jo Smith", line1="1 High Street", city="Leeds", postcode="LS1 1AA", country="GB")


@dataclass
class HeldOrder:
    """An order as the platform holds it: the canonical order, whether it is voided, and what was written
    on it (notes, one shipment per parcel, the progress token each parcel claimed)."""

    order: Order
    updated_at: datetime
    voided: bool = False
    notes: list[str] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)  # as written, in order
    tokens: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The raw record a read archives: the order as JSON with the platform's own flags."""
        return {**self.order.model_dump(mode="json"), "voided": self.voided, "notes": list(self.notes)}


class FakeCommerce(FakePlatform):
    """Where orders, products and stock are mastered. Scenario methods (`add_order`, `void`, `add_product`,
    `set_stock`, `add_unreadable`) change the platform as a person would; the port methods read and write it."""

    name = "fake_commerce"

    def __init__(self, name: str | None = None, **options: Any):
        super().__init__(name, **options)
        self.orders: dict[str, HeldOrder] = {}
        self.products: dict[str, Product] = {}
        self.stock: dict[tuple[str, str], StockRow] = {}
        # Rows a connector could not map, by feed ("products", "stock"), with when they last changed.
        self.unreadable: dict[str, list[tuple[datetime, Rejected]]] = {"products": [], "stock": []}
        self.writes = 0  # shipment writes that changed an order (a repeat for a written parcel is not one)
        self._ids = itertools.count(1)

    # -- scenario ---------------------------------------------------------------------------------
    def add_order(
        self,
        order_number: str,
        lines: list[tuple[str, int]] | None = None,
        *,
        authorised: bool = True,
        location: str = "Main",
        delivery_service: str = "Royal Mail Tracked 48",
        **fields: Any,
    ) -> str:
        """An order placed now; returns its source id. `fields` go onto the Order (status, address...)."""
        source_id = f"{next(self._ids):08d}-0000-4000-8000-000000000000"
        order_lines = tuple(
            OrderLine(sku=sku, quantity=Decimal(quantity), unit_price=Decimal("10"))
            for sku, quantity in (lines or [("SKU-1", 1)])
        )
        now = self.clock.now()
        order = Order(
            source=self.name,
            source_id=source_id,
            order_number=order_number,
            status="ORDERED",
            authorised=authorised,
            location=location,
            delivery_service=delivery_service,
            lines=order_lines,
            shipping_address=fields.pop("shipping_address", ADDRESS),
            total=sum((line.unit_price * line.quantity for line in order_lines), Decimal(0)),
            updated_at=now,
            **fields,
        )
        self.orders[source_id] = HeldOrder(order, now)
        return source_id

    def void(self, source_id: str) -> None:
        """Someone cancels the order at the platform."""
        held = self._held(source_id)
        held.voided, held.updated_at = True, self.clock.now()

    def add_product(self, sku: str, name: str = "", **fields: Any) -> Product:
        """A product created or edited now (`fields` onto Product: barcode, weight_kg, active...)."""
        previous = self.products.get(sku)
        product = Product(
            source=self.name,
            source_id=previous.source_id if previous else f"p-{next(self._ids)}",
            sku=sku,
            name=name or sku,
            updated_at=self.clock.now(),
            **fields,
        )
        self.products[sku] = product
        return product

    def set_stock(
        self,
        sku: str,
        location: str,
        available: int | Decimal,
        *,
        on_hand: int | Decimal | None = None,
        allocated: int | Decimal = 0,
    ) -> None:
        on = Decimal(on_hand if on_hand is not None else available)
        self.stock[(sku, location)] = StockRow(
            sku=sku,
            location=location,
            available=Decimal(available),
            on_hand=on,
            allocated=Decimal(allocated),
            updated_at=self.clock.now(),
        )

    def add_unreadable(self, feed: str, row: Any, detail: str, key: str = "") -> None:
        """A row changed now that the platform lists but a connector cannot map (`feed`: products or stock)."""
        self.unreadable[feed].append((self.clock.now(), Rejected(row=row, detail=detail, key=key)))

    def shipped(self, source_id: str) -> dict[str, Decimal]:
        """Units written back as shipped, per SKU."""
        totals: dict[str, Decimal] = {}
        for shipment in self._held(source_id).shipments:
            for line in shipment.lines:
                totals[line.sku] = totals.get(line.sku, Decimal(0)) + line.quantity
        return totals

    # -- OrderSource --------------------------------------------------------------------------------
    def fetch_order(self, source_id: str) -> Order:
        self._enter("fetch_order", source_id)
        return self._held(source_id).order

    def read_order(self, source_id: str) -> tuple[Order, dict[str, Any]]:
        self._enter("read_order", source_id)
        held = self._held(source_id)
        return held.order, held.payload()

    def orders_changed_since(self, since: datetime) -> Iterator[OrderChange]:
        """Authorised, not voided orders changed after `since`, oldest first."""
        self._enter("orders_changed_since", since)
        yield from self._changes(since, lambda held: held.order.authorised and not held.voided)

    # -- CancelSource -------------------------------------------------------------------------------
    def cancelled_since(self, since: datetime) -> Iterator[OrderChange]:
        self._enter("cancelled_since", since)
        yield from self._changes(since, lambda held: held.voided)

    # -- NoteTarget ---------------------------------------------------------------------------------
    def add_note(self, source_id: str, line: str) -> bool:
        """Append `line` once: False when the order already carries it (a retry after a lost answer)."""
        self._enter("add_note", source_id, line)
        held = self._held(source_id)
        if line in held.notes:
            return False
        held.notes.append(line)
        return True

    # -- ShipmentTarget -----------------------------------------------------------------------------
    def write_shipment(
        self,
        source_id: str,
        shipment: Shipment,
        *,
        location: str,
        progress: Mapping[str, str],
        remember: Callable[[str], None],
        known: Sequence[str] = (),
    ) -> None:
        """One parcel written once: its token is claimed through `remember` before the write (the first `known`
        token no other parcel holds, else a new one), and a parcel already written (by token or by parcel id)
        is not written again. Units beyond what the order holds are refused, as a platform refuses an over-pick."""
        self._enter("write_shipment", source_id, shipment, location)
        held = self._held(source_id)
        if any(written.parcel_id == shipment.parcel_id for written in held.shipments):
            return
        token = progress.get(shipment.parcel_id) or held.tokens.get(shipment.parcel_id)
        if token is None:
            taken = set(progress.values())
            free = [known_token for known_token in known if known_token not in taken]
            token = free[0] if free else f"task-{next(self._ids)}"
            remember(token)
        held.tokens[shipment.parcel_id] = token
        ordered = {line.sku: line.quantity for line in held.order.lines}
        already = self.shipped(source_id)
        for line in shipment.lines:
            if already.get(line.sku, Decimal(0)) + line.quantity > ordered.get(line.sku, Decimal(0)):
                raise PermanentError(
                    ReasonCode.SOURCE_REJECTED, f"order {source_id}: {line.sku} x {line.quantity} is more than it holds"
                )
        held.shipments.append(shipment)
        held.updated_at = self.clock.now()
        self.writes += 1

    # -- CatalogueSource ----------------------------------------------------------------------------
    def products_changed_since(self, since: datetime) -> Iterator[Product | Rejected]:
        self._enter("products_changed_since", since)
        yield from sorted(
            (p for p in self.products.values() if p.updated_at > since), key=lambda p: (p.updated_at, p.sku)
        )
        yield from [rejected for at, rejected in self.unreadable["products"] if at > since]

    # -- StockSource --------------------------------------------------------------------------------
    def stock_levels(
        self, skus: list[str] | None = None, location: str | None = None, *, fresh_after: datetime | None = None
    ) -> Iterator[StockRow | Rejected]:
        """Rows of exactly these SKUs (all when None), at exactly `location` when given."""
        self._enter("stock_levels", None if skus is None else list(skus), location)
        wanted = None if skus is None else set(skus)
        for (sku, at), row in sorted(self.stock.items()):
            if (wanted is None or sku in wanted) and (location is None or at == location):
                yield row
        yield from [rejected for _, rejected in self.unreadable["stock"]]

    # -- helpers ------------------------------------------------------------------------------------
    def _held(self, source_id: str) -> HeldOrder:
        held = self.orders.get(source_id)
        if held is None:
            raise NotFoundError(f"{self.name} order {source_id} does not exist")
        return held

    def _changes(self, since: datetime, keep: Callable[[HeldOrder], bool]) -> Iterator[OrderChange]:
        for held in sorted(self.orders.values(), key=lambda h: h.updated_at):
            if held.updated_at > since and keep(held):
                yield OrderChange(
                    source_id=held.order.source_id,
                    order_number=held.order.order_number,
                    status="VOIDED" if held.voided else held.order.status,
                    updated_at=held.updated_at,
                )


# Structural checks, run by mypy: the fake is each port it stands in for.
_order_source: OrderSource = FakeCommerce()
_shipment_target: ShipmentTarget = FakeCommerce()
_catalogue_source: CatalogueSource = FakeCommerce()
_stock_source: StockSource = FakeCommerce()
_cancel_source: CancelSource = FakeCommerce()
_note_target: NoteTarget = FakeCommerce()
