"""An in-memory warehouse (the Scend side): catalogue, orders with a live status, despatches and stock,
behind FulfilmentTarget, ShipmentSource, CatalogueTarget, StockTarget, StockSource and CancelTarget."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.errors import NotFoundError, PermanentError
from shared.models import Order, ReasonCode, WarehouseOrderRef, WarehouseStatusRead
from shared.models.feed import Rejected
from shared.models.product import PRODUCT_FIELDS, Product, WarehouseProduct
from shared.models.shipment import Shipment, ShipmentLine
from shared.models.stock import RejectedPush, StockPush, StockRow
from shared.ports import (
    CancelTarget,
    CatalogueTarget,
    FulfilmentTarget,
    ShipmentSource,
    StockSource,
    StockTarget,
    WarehouseStateFeed,
)
from tests.fakes.base import FakePlatform

# The fake's own status codes -> (neutral status, name). A test that runs a step against a client config
# whose cancel table names another warehouse's codes passes that warehouse's table as `statuses`.
STATUSES: dict[str, tuple[str, str]] = {
    "new": ("new", "New"),
    "picking": ("picking", "Picking started"),
    "despatched": ("despatched", "Despatched"),
    "cancelled": ("cancelled", "Cancelled"),
}


@dataclass
class WarehouseOrder:
    """An order the warehouse holds: the order as sent, its reference, service and live status code."""

    warehouse_order_id: str
    client_reference: str
    order: Order
    courier_service: str
    status: str
    updated_at: datetime


def _held(value: Any) -> str:
    """A field as the warehouse reports it back: text, '' when absent."""
    return "" if value is None else str(value)


class FakeWarehouse(FakePlatform):
    """The warehouse that takes orders and products and reports what it shipped. Scenario methods
    (`add_product`, `set_status`, `despatch`, `add_unreadable_despatch`, `set_stock`) change it as its
    staff would; the port methods read and write it."""

    name = "fake_warehouse"

    def __init__(
        self,
        name: str | None = None,
        *,
        statuses: Mapping[str, tuple[str, str]] = STATUSES,
        new: str = "new",
        cancelled: str = "cancelled",
        despatched: str = "despatched",
        cancellable: frozenset[str] = frozenset({"new"}),
        accepts_stock_writes: bool = True,
        push_batch_size: int = 100,
        **options: Any,
    ):
        super().__init__(name, **options)
        self.statuses = dict(statuses)
        self.new, self.cancelled, self.despatched_code = new, cancelled, despatched
        self.cancellable = cancellable
        self._accepts_stock_writes = accepts_stock_writes
        self.push_batch_size = push_batch_size
        self.products: dict[str, WarehouseProduct] = {}
        self.orders: dict[str, WarehouseOrder] = {}
        self.despatches: list[Shipment | Rejected] = []  # in despatch order; Rejected rows are unmappable
        self._despatched_at: list[datetime] = []
        self.stock: dict[tuple[str, str], StockRow] = {}  # physical figures, as the warehouse counts them
        self.sellable: dict[tuple[str, str], int] = {}  # figures set through push_stock
        self._ids = itertools.count(50001)

    # -- scenario ---------------------------------------------------------------------------------
    def add_product(self, sku: str, name: str = "", **fields: str) -> WarehouseProduct:
        """An item created at the warehouse by hand (`fields`: canonical field -> value as held)."""
        held = {field: "" for field in PRODUCT_FIELDS} | {"name": name or sku} | fields
        product = WarehouseProduct(item_id=str(next(self._ids)), sku=sku, fields=held)
        self.products[sku] = product
        return product

    def set_status(self, warehouse_order_id: str, code: str) -> None:
        if code not in self.statuses:
            raise ValueError(f"unknown status code {code!r}; known: {sorted(self.statuses)}")
        order = self._order(warehouse_order_id)
        order.status, order.updated_at = code, self.clock.now()

    def despatch(
        self,
        warehouse_order_id: str,
        *,
        tracking: tuple[str, ...] = ("TRACK-1",),
        lines: list[tuple[str, int]] | None = None,
    ) -> Shipment:
        """The order (or `lines` of it) leaves now, as one despatch whose parcel id is the order's id
        (a second part gets its own id)."""
        order = self._order(warehouse_order_id)
        now = self.clock.now()
        parts = sum(
            1 for s in self.despatches if isinstance(s, Shipment) and s.warehouse_order_id == warehouse_order_id
        )
        shipped = lines or [(line.sku, int(line.quantity)) for line in order.order.lines]
        shipment = Shipment(
            warehouse=self.name,
            parcel_id=warehouse_order_id if not parts else f"{warehouse_order_id}-{parts + 1}",
            warehouse_order_id=warehouse_order_id,
            client_reference=order.client_reference,
            despatched_at=now,
            carrier="Royal Mail",
            service=order.courier_service,
            tracking_numbers=tracking,
            lines=tuple(ShipmentLine(sku=sku, quantity=Decimal(q)) for sku, q in shipped),
            updated_at=now,
        )
        self.despatches.append(shipment)
        self._despatched_at.append(now)
        order.status, order.updated_at = self.despatched_code, now
        return shipment

    def add_unreadable_despatch(self, row: Any, detail: str, key: str = "") -> None:
        """A despatch listed now that a connector cannot map (a row missing its reference, say)."""
        self.despatches.append(Rejected(row=row, detail=detail, key=key))
        self._despatched_at.append(self.clock.now())

    def set_stock(self, sku: str, location: str, available: int, *, on_hand: int | None = None) -> None:
        self.stock[(sku, location)] = StockRow(
            sku=sku,
            location=location,
            available=Decimal(available),
            on_hand=Decimal(on_hand if on_hand is not None else available),
            updated_at=self.clock.now(),
        )

    # -- FulfilmentTarget ---------------------------------------------------------------------------
    def find_order(self, client_reference: str) -> WarehouseOrderRef | None:
        """Exact, case-sensitive reference; the first order created under it."""
        self._enter("find_order", client_reference)
        for order in self.orders.values():
            if order.client_reference == client_reference:
                return self._ref(order, created=False)
        return None

    def create_order(self, order: Order, client_reference: str, courier_service: str) -> WarehouseOrderRef:
        """Once per reference (a repeat returns the order held, created=False); a SKU the catalogue lacks
        is refused as SKU_UNKNOWN, as a warehouse refuses it."""
        self._enter("create_order", order, client_reference, courier_service)
        existing = next((o for o in self.orders.values() if o.client_reference == client_reference), None)
        if existing is not None:
            return self._ref(existing, created=False)
        unknown = sorted({line.sku for line in order.lines} - set(self.products))
        if unknown:
            raise PermanentError(ReasonCode.SKU_UNKNOWN, f"{self.name} holds no product {', '.join(unknown)}")
        held = WarehouseOrder(
            str(next(self._ids)), client_reference, order, courier_service, self.new, self.clock.now()
        )
        self.orders[held.warehouse_order_id] = held
        return self._ref(held, created=True)

    def known_skus(self, skus: list[str]) -> set[str]:
        self._enter("known_skus", list(skus))
        return {sku for sku in skus if sku in self.products}

    # -- ShipmentSource -----------------------------------------------------------------------------
    def shipments_since(self, since: datetime) -> Iterator[Shipment | Rejected]:
        """Despatches at or after `since`, in despatch order."""
        self._enter("shipments_since", since)
        yield from [item for at, item in zip(self._despatched_at, self.despatches, strict=True) if at >= since]

    # -- CatalogueTarget ----------------------------------------------------------------------------
    def find_product(self, sku: str) -> WarehouseProduct | None:
        self._enter("find_product", sku)
        return self.products.get(sku)

    def create_product(self, product: Product) -> WarehouseProduct:
        """Every field sent on creation; a SKU already held resolves to the item held."""
        self._enter("create_product", product)
        if product.sku in self.products:
            return self.products[product.sku]
        held = {field: _held(getattr(product, field)) for field in PRODUCT_FIELDS}
        created = WarehouseProduct(item_id=str(next(self._ids)), sku=product.sku, fields=held)
        self.products[product.sku] = created
        return created

    def update_product(self, existing: WarehouseProduct, product: Product, fields: tuple[str, ...]) -> None:
        """Only `fields` change; an empty new value is not sent, so the warehouse keeps its own."""
        self._enter("update_product", existing, product, fields)
        unknown = [field for field in fields if field not in PRODUCT_FIELDS]
        if unknown:
            raise ValueError(f"not product fields: {unknown}")
        held = next((p for p in self.products.values() if p.item_id == existing.item_id), None)
        if held is None:
            raise NotFoundError(f"{self.name} item {existing.item_id} does not exist")
        changes = {field: _held(getattr(product, field)) for field in fields if _held(getattr(product, field))}
        self.products[held.sku] = held.model_copy(update={"fields": {**held.fields, **changes}})

    # -- StockSource and StockTarget ------------------------------------------------------------------
    def stock_levels(
        self, skus: list[str] | None = None, location: str | None = None, *, fresh_after: datetime | None = None
    ) -> Iterator[StockRow | Rejected]:
        self._enter("stock_levels", None if skus is None else list(skus), location)
        wanted = None if skus is None else set(skus)
        for (sku, at), row in sorted(self.stock.items()):
            if (wanted is None or sku in wanted) and (location is None or at == location):
                yield row

    @property
    def accepts_stock_writes(self) -> bool:
        return self._accepts_stock_writes

    def push_stock(self, pushes: list[StockPush]) -> list[RejectedPush]:
        """Absolute figures; a SKU the catalogue lacks is refused row by row, the rest stand."""
        self._enter("push_stock", list(pushes))
        if not self._accepts_stock_writes:
            raise PermanentError(ReasonCode.ENDPOINT_UNAVAILABLE, f"{self.name} takes no stock figures")
        if len(pushes) > self.push_batch_size:
            raise PermanentError(
                ReasonCode.STOCK_PUSH_REJECTED,
                f"{len(pushes)} rows in one batch; {self.name} takes {self.push_batch_size}",
            )
        rejected: list[RejectedPush] = []
        for push in pushes:
            if push.sku not in self.products:
                rejected.append(RejectedPush(sku=push.sku, location=push.location, message="unknown SKU"))
            else:
                self.sellable[(push.sku, push.location)] = push.quantity
        return rejected

    # -- CancelTarget -------------------------------------------------------------------------------
    def order_status(self, warehouse_order_id: str) -> WarehouseStatusRead:
        self._enter("order_status", warehouse_order_id)
        return self._read(self._order(warehouse_order_id).status)

    def cancel_order(self, warehouse_order_id: str) -> tuple[bool, str]:
        """Accepted at a cancellable status (and again once cancelled); refused with the status named otherwise."""
        self._enter("cancel_order", warehouse_order_id)
        order = self._order(warehouse_order_id)
        if order.status == self.cancelled:
            return True, "already cancelled"
        if order.status not in self.cancellable:
            return False, f"order {warehouse_order_id} is {self.statuses[order.status][1]}: it cannot be cancelled"
        order.status, order.updated_at = self.cancelled, self.clock.now()
        return True, "cancelled"

    def order_state(self, warehouse_order_id: str) -> WarehouseOrderRef | None:
        self._enter("order_state", warehouse_order_id)
        order = self.orders.get(warehouse_order_id)
        return (
            None
            if order is None
            else self._ref(order, created=False).model_copy(update={"updated_at": order.updated_at})
        )

    def order_states_since(self, since: datetime) -> list[WarehouseOrderRef]:
        """WarehouseStateFeed: the orders changed at or after `since`, in one call."""
        self._enter("order_states_since", since.isoformat())
        return [
            self._ref(order, created=False).model_copy(update={"updated_at": order.updated_at})
            for order in self.orders.values()
            if order.updated_at >= since
        ]

    # -- helpers ------------------------------------------------------------------------------------
    def _order(self, warehouse_order_id: str) -> WarehouseOrder:
        order = self.orders.get(warehouse_order_id)
        if order is None:
            raise NotFoundError(f"{self.name} order {warehouse_order_id} does not exist")
        return order

    def _read(self, code: str) -> WarehouseStatusRead:
        status, name = self.statuses[code]
        return WarehouseStatusRead(status=status, code=code, name=name)

    def _ref(self, order: WarehouseOrder, *, created: bool) -> WarehouseOrderRef:
        return WarehouseOrderRef(
            warehouse_order_id=order.warehouse_order_id,
            client_reference=order.client_reference,
            status=self.statuses[order.status][0],
            created=created,
        )


# Structural checks, run by mypy: the fake is each port it stands in for.
_fulfilment_target: FulfilmentTarget = FakeWarehouse()
_shipment_source: ShipmentSource = FakeWarehouse()
_catalogue_target: CatalogueTarget = FakeWarehouse()
_stock_target: StockTarget = FakeWarehouse()
_stock_source: StockSource = FakeWarehouse()
_cancel_target: CancelTarget = FakeWarehouse()
_state_feed: WarehouseStateFeed = FakeWarehouse()
