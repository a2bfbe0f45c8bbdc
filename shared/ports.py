"""The capabilities a connector offers, as small Protocols the flows and handlers speak to."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from shared.models.base import Model

if TYPE_CHECKING:
    # Named in signatures only: a hop importing the ports loads the models of the capabilities it uses.
    from shared.models import Order, WarehouseOrderRef
    from shared.models.feed import Rejected
    from shared.models.product import PriceList, Product, WarehouseProduct
    from shared.models.returns import ReturnNotice
    from shared.models.shipment import Shipment
    from shared.models.stock import RejectedPush, StockPush, StockRow
    from shared.models.warehouse import WarehouseStatusRead


class OrderChange(Model):
    """One row of a changed-since listing: enough to enqueue, not enough to decide."""

    source_id: str
    order_number: str = ""
    status: str = ""
    updated_at: datetime


class OrderSource(Protocol):
    """Where orders are mastered (Cin7 Core for the first pairing)."""

    name: str

    def fetch_order(self, source_id: str) -> Order: ...

    def read_order(self, source_id: str) -> tuple[Order, dict[str, Any]]:
        """The order and the raw payload it was mapped from, in one call (the payload is archived)."""
        ...

    def orders_changed_since(self, since: datetime) -> Iterator[OrderChange]: ...


class SubscriptionHealth(Model):
    """What the platform says of the subscription that delivers its messages to us."""

    key: str
    exists: bool
    status: str = ""  # the platform's own word (commercetools: Healthy, ConfigurationError, ...)
    healthy: bool = False
    destination: str = ""  # where it delivers (a queue URL, an event source)


class SubscriptionKeeper(Protocol):
    """A platform that pushes messages to us through a subscription it holds (commercetools): we create it,
    pointed at our queue or account, and check that it still delivers."""

    def subscription_health(self) -> SubscriptionHealth: ...

    def ensure_subscription(self, *, queue_url: str, region: str, account_id: str) -> SubscriptionHealth: ...


class ExportClaim(Protocol):
    """An order source that marks the orders it handed over (SFCC's export status), so its release filter
    stops listing them. A courtesy to the source, not the guard against duplicates (the ledger and the
    target's reference search are): a mark that fails is made again when the order is listed again."""

    def mark_exported(self, source_id: str) -> None: ...

    def mark_failed(self, source_id: str) -> None: ...


class WarehouseIdRecorder(Protocol):
    """An order source that keeps the warehouse's order id on its order (commercetools' syncInfo on a channel),
    so the shop's people see where the order went and its accepted-not-allocated stock stops being netted.
    Idempotent: an id already recorded is not written again. `as_read` is the order as the caller last read
    it (its `source_version` and `warehouse_ids`): the write goes against that version with no read of its
    own, and only a conflict reads the order again."""

    def record_warehouse_order(self, source_id: str, warehouse_order_id: str, as_read: Order | None = None) -> None: ...


class FulfilmentTarget(Protocol):
    """The warehouse that ships orders (Scend for the first pairing)."""

    name: str

    def find_order(self, client_reference: str) -> WarehouseOrderRef | None: ...

    def create_order(self, order: Order, client_reference: str, courier_service: str) -> WarehouseOrderRef: ...

    def known_skus(self, skus: list[str]) -> set[str]: ...


class ShipmentSource(Protocol):
    """A warehouse that reports what it shipped (polled: Scend has no webhooks)."""

    name: str

    def shipments_since(self, since: datetime) -> Iterator[Shipment | Rejected]:
        """Despatches since `since`; rows it cannot map come back as `Rejected`."""
        ...


class ShipmentTarget(Protocol):
    """Where shipments are written back so the order closes. The platform's own write sequence (Cin7's
    pick -> pack -> ship, say) lives in the connector; it claims an opaque progress token per parcel through
    `remember` before its first write, and resumes from `progress` on a retry. `known` are the tokens the
    order's own read named (`Order.writeback_tokens`): a first attempt may write to one without reading."""

    name: str

    def write_shipment(
        self,
        source_id: str,
        shipment: Shipment,
        *,
        location: str,
        progress: Mapping[str, str],
        remember: Callable[[str], None],
        known: Sequence[str] = (),
    ) -> None: ...


class CatalogueSource(Protocol):
    """Where products are mastered (Cin7 Core)."""

    name: str

    def products_changed_since(self, since: datetime) -> Iterator[Product | Rejected]:
        """Products changed since `since`; rows it cannot map come back as `Rejected`."""
        ...


class CatalogueTarget(Protocol):
    """Where products must exist before orders need them (the warehouse)."""

    name: str

    def find_product(self, sku: str) -> WarehouseProduct | None: ...

    def create_product(self, product: Product) -> WarehouseProduct: ...

    def update_product(self, existing: WarehouseProduct, product: Product, fields: tuple[str, ...]) -> None: ...


@runtime_checkable
class PriceTarget(Protocol):
    """A catalogue target that also takes prices: one single-currency list per (master price tier, currency),
    as its settings configure them (SFCC's price books). The product sync writes what changed."""

    def price_lists(self) -> Sequence[PriceList]: ...

    def write_price(self, sku: str, price_list: PriceList, amount: Decimal) -> None: ...


class StockSource(Protocol):
    """Where stock figures are read: the master (to compute what to sell) or the other side (drift)."""

    name: str

    def stock_levels(
        self, skus: list[str] | None = None, location: str | None = None, *, fresh_after: datetime | None = None
    ) -> Iterator[StockRow | Rejected]:
        """Every row (None), or the rows of these SKUs, at one location when given; paged and rate-limited
        by the connector. Rows it cannot map come back as `Rejected`, for quarantine. `fresh_after`: a read
        begun after that moment will do (the connector may answer from one it made since; each row's
        `read_at` says when its read began).
        """
        ...


@runtime_checkable
class StockChangeFeed(Protocol):
    """A stock master that lists only the rows changed since a moment (Scend's updated-since feed), so a
    high-frequency schedule reads what moved rather than the whole catalogue. A row is the whole figure of
    its (SKU, location), as `stock_levels` gives it; a SKU's unchanged locations are not listed."""

    @property
    def offers_stock_feed(self) -> bool:
        """False when the settings name no feed: every schedule reads every row."""
        ...

    def stock_changed_since(self, since: datetime) -> Iterator[StockRow | Rejected]:
        """Raises EndpointUnavailableError when the platform does not serve the configured feed."""
        ...


@runtime_checkable
class ReservingStockTarget(Protocol):
    """A stock target that takes units off its own figures as it accepts orders (commercetools'
    `inventoryMode`), and nets the orders it accepted that the master has not allocated off each absolute
    write itself, at write time. The pusher then passes the master's figure as it is: subtracting the
    ledger's in-flight orders as well would count them twice."""

    def pending_units(self, sku: str, location: str, snapshot_at: datetime | None = None) -> int: ...


class StockTarget(Protocol):
    """Where sellable figures are set, in batches no larger than the target accepts."""

    name: str
    push_batch_size: int

    @property
    def accepts_stock_writes(self) -> bool:
        """False when the platform takes no stock figures (its settings say so): drift is reported only."""
        ...

    def push_stock(self, pushes: list[StockPush]) -> list[RejectedPush]:
        """Set absolute figures; returns the rows the target refused (the rest were applied)."""
        ...


class CancelSource(Protocol):
    """Where cancellations of orders are announced (a poll of voided orders; webhooks feed the same queue)."""

    name: str

    def cancelled_since(self, since: datetime) -> Iterator[OrderChange]: ...


class ChangeKind(StrEnum):
    """What one row of a combined changed-since listing means for the polls."""

    READY = "ready"  # goes to intake (which dedupes and decides)
    CANCELLED = "cancelled"  # goes to cancellation
    OTHER = "other"  # neither (a draft, a quote): nothing to do


class SourceChange(Model):
    change: OrderChange
    kind: ChangeKind


@runtime_checkable
class CombinedChangeFeed(Protocol):
    """An order source that is also its own cancel source and can list both in one read: one call per poll
    instead of two, where every call counts against a small shared limit (Cin7's 60 a minute)."""

    def changes_since(self, since: datetime) -> Iterator[SourceChange]: ...


class CancelTarget(Protocol):
    """Where an order is cancelled by its live status, before the cut-off its status table gives."""

    name: str

    def find_order(self, client_reference: str) -> WarehouseOrderRef | None: ...

    def order_status(self, warehouse_order_id: str) -> WarehouseStatusRead: ...

    def cancel_order(self, warehouse_order_id: str) -> tuple[bool, str]: ...

    def order_state(self, warehouse_order_id: str) -> WarehouseOrderRef | None: ...


@runtime_checkable
class WarehouseStateFeed(Protocol):
    """A cancel target that lists the live state of the orders changed since a moment in one call, so the mismatch
    monitor reads many open orders for the price of one read. One page of the platform's largest size: an order
    beyond it, or changed before the moment, is not listed (the monitor reads it alone)."""

    def order_states_since(self, since: datetime) -> list[WarehouseOrderRef]: ...


class NoteTarget(Protocol):
    """Where an outcome is written on the order for the people who work there (a note on the sale)."""

    name: str

    def add_note(self, source_id: str, line: str) -> bool: ...


class ReturnSource(Protocol):
    """A warehouse that reports the returns it booked in (polled: Scend has no webhooks)."""

    name: str

    def returns_since(self, since: datetime) -> Iterator[ReturnNotice | Rejected]:
        """Returns booked in since `since`; rows it cannot map come back as `Rejected`."""
        ...


class ReturnTarget(Protocol):
    """Where a return is recorded on the order it came from, with what became of each unit."""

    name: str

    def record_return(self, source_id: str, notice: ReturnNotice) -> bool:
        """Record the return once; False when the order holds it already (a repeat)."""
        ...


class OrderRecord(Model):
    """What a source's order holds after the warehouse's work: its states, delivered units and tracking."""

    order_state: str
    shipment_state: str = ""
    delivered: dict[str, int] = {}
    tracking: tuple[str, ...] = ()
    cancelled: bool = False


class OrderRecords(Protocol):
    """A source whose order can be read back for reconciliation against the warehouse."""

    name: str

    def order_record(self, source_id: str) -> OrderRecord: ...


class SkuListing(Protocol):
    """A catalogue that can list every SKU it holds (the daily audit's other side)."""

    name: str

    def all_skus(self) -> Iterator[str]: ...


class CatalogueAudit(Protocol):
    """A shop that can list the SKUs it sells and those it holds stock figures for (the audit's shop side)."""

    name: str

    def catalogue_skus(self) -> set[str]: ...

    def stocked_skus(self) -> set[str]: ...
