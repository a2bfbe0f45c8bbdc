"""The ports commercetools plays, over one CommercetoolsClient: order source, shipment target, catalogue
source, stock target and reader, cancel source and note target (shared/ports.py).

The client speaks the platform (paths, predicates, versions); this adapter speaks the ports, so the
runtime hands it out typed to each role. What a port needs that the platform does not have is decided
here and said once: orders carry no notes, so a note is a line in a String custom field; a delivery is
acknowledged only when the order the update returns holds it; stock is netted of orders the shop has
accepted that the warehouse has not yet allocated (shared/flows/reservations.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.connectors.commercetools.client import CommercetoolsClient, HeldSyncInfo, StockDecision
from shared.connectors.commercetools.mapping import (
    CtOrder,
    CtProduct,
    delivered_quantities,
    delivery_key,
    existing_delivery,
    format_datetime,
    parse,
    product_variants,
    quote,
    warehouse_return_actions,
)
from shared.connectors.commercetools.settings import CommercetoolsSettings
from shared.connectors.http import CallStats
from shared.errors import PermanentError, TransientError
from shared.flows.reservations import AcceptedLine, net_figure, pending_units
from shared.flows.skus import sku_format_problem
from shared.models import Order, ReasonCode
from shared.models.feed import Rejected
from shared.models.product import Product
from shared.models.returns import ReturnDisposition, ReturnNotice
from shared.models.shipment import Shipment
from shared.models.stock import RejectedPush, StockPush, StockRow
from shared.ports import (
    CancelSource,
    CatalogueSource,
    NoteTarget,
    OrderChange,
    OrderRecord,
    OrderSource,
    ShipmentTarget,
    StockSource,
    StockTarget,
    SubscriptionHealth,
)


class DeliveryNotAcknowledgedError(TransientError):
    """The update answered, but the order it returned does not hold our delivery: not done, retry."""


class ReturnNotAcknowledgedError(TransientError):
    """The updates answered, but the order they returned does not hold the whole return: retry."""


def note_type_draft(settings: CommercetoolsSettings) -> dict[str, Any]:
    """The order Type whose String field holds Hopline's notes, one line each."""
    return {
        "key": settings.notes_type_key,
        "name": {"en": "Hopline notes"},
        "resourceTypeIds": ["order"],
        "fieldDefinitions": [
            {
                "name": settings.notes_field,
                "label": {"en": "Hopline notes"},
                "required": False,
                "type": {"name": "String"},
                "inputHint": "MultiLine",
            }
        ],
    }


def note_actions(order: CtOrder, line: str, settings: CommercetoolsSettings, type_id: str) -> list[dict[str, Any]]:
    """The update that adds `line` to the order's notes field; [] when the line is there already.

    An order without custom fields gets the notes Type; one that carries another Type is written only
    when that Type has the notes field, else refused naming both (set `notes_type_key` to the project's
    order Type and give it the field).
    """
    field = settings.notes_field
    custom = order.custom
    if custom is None:
        return [
            {
                "action": "setCustomType",
                "type": {"typeId": "type", "key": settings.notes_type_key},
                "fields": {field: line},
            }
        ]
    if custom.type.id != type_id and field not in custom.fields:
        raise PermanentError(
            ReasonCode.SOURCE_REJECTED,
            f"commercetools order {order.reference} carries custom Type {custom.type.id}, not "
            f"{settings.notes_type_key}: give that Type a String field {field!r} and name it in notes_type_key",
        )
    existing = str(custom.fields.get(field) or "")
    if line in existing.splitlines():
        return []
    return [{"action": "setCustomField", "name": field, "value": f"{existing}\n{line}" if existing else line}]


def accepted_lines(
    order: CtOrder, settings: CommercetoolsSettings, snapshot_at: datetime | None = None
) -> list[AcceptedLine]:
    """The order's lines as stock sees them: at the warehouse once its id is synced on our channel, and,
    for a warehouse figure read from `snapshot_at`, synced no later than that read (the sync is recorded
    after the warehouse created the order, so a figure read before the sync may not net the order off)."""
    synced = any(
        info.channel.id == settings.sync_channel_id and _synced_by(info.syncedAt, snapshot_at)
        for info in order.syncInfo
    )
    return [
        AcceptedLine(
            sku=item.variant.sku or "",
            quantity=item.quantity,
            location=settings.location_for(item.supplyChannel.id) if item.supplyChannel else None,
            at_warehouse=synced,
            cancelled=order.orderState == "Cancelled",
        )
        for item in order.lineItems
    ]


def _synced_by(synced_at: str, snapshot_at: datetime | None) -> bool:
    if snapshot_at is None:
        return True
    try:
        moment = datetime.fromisoformat(synced_at.replace("Z", "+00:00"))
    except ValueError:
        return False  # an unreadable time: counted as pending (an under-statement, never an oversell)

    def utc(value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    return utc(moment) <= utc(snapshot_at)


class CommercetoolsPorts:
    """Every port commercetools plays, by calling one client."""

    name = "commercetools"

    def __init__(self, client: CommercetoolsClient):
        self.client = client
        self.settings = client.settings
        self.push_batch_size = client.push_batch_size
        self._note_type_id: str | None = None

    @property
    def clock(self) -> Any:
        return self.client.clock

    @property
    def stats(self) -> CallStats:
        """The client's calls, retries and throttled answers, as every connector reports them."""
        return self.client.stats

    # -- OrderSource ---------------------------------------------------------------------------------
    def fetch_order(self, source_id: str) -> Order:
        return self.client.fetch_order(source_id)

    def read_order(self, source_id: str) -> tuple[Order, dict[str, Any]]:
        return self.client.read_order(source_id)

    def orders_changed_since(self, since: datetime) -> Iterator[OrderChange]:
        return self.client.orders_changed_since(since)

    # -- WarehouseIdRecorder ---------------------------------------------------------------------------
    def record_warehouse_order(self, source_id: str, warehouse_order_id: str, as_read: Order | None = None) -> None:
        """`updateSyncInfo` on the configured channel (§3), once: the order shows its Scend id, and stock
        netting (accepted_lines) stops counting it as not yet at the warehouse. With the order as intake
        read it (its version and synced ids), written against that version first: one call, and a read
        only when the order changed since (409)."""
        held = (
            HeldSyncInfo(as_read.source_version, frozenset(as_read.warehouse_ids))
            if as_read is not None and as_read.source_id == source_id and as_read.source_version is not None
            else None
        )
        if held is None:
            self.client.update_sync_info(source_id, warehouse_order_id)
        else:
            self.client.update_sync_info_as_read(source_id, warehouse_order_id, held)

    # -- SubscriptionKeeper ----------------------------------------------------------------------------
    def _health(self, found: Any) -> SubscriptionHealth:
        key = self.settings.subscription_key
        if found is None:
            return SubscriptionHealth(key=key, exists=False)
        where = found.destination.get("queueUrl") or found.destination.get("accountId") or ""
        # §2: anything but Healthy (ConfigurationError, ConfigurationErrorDeliveryStopped, TemporaryError,
        # ManuallySuspended) means messages are not arriving.
        return SubscriptionHealth(
            key=key, exists=True, status=found.status, healthy=found.status == "Healthy", destination=str(where)
        )

    def subscription_health(self) -> SubscriptionHealth:
        return self._health(self.client.subscription(self.settings.subscription_key))

    def ensure_subscription(self, *, queue_url: str, region: str, account_id: str) -> SubscriptionHealth:
        """SQS into our queue, or EventBridge into our account (its partner source then needs associating
        with an event bus of the same name, which the stack's rule listens on), as the settings choose."""
        destination = (
            {"type": "EventBridge", "region": region, "accountId": account_id}
            if self.settings.subscription_delivery == "eventbridge"
            else None
        )
        return self._health(
            self.client.ensure_subscription(self.settings.subscription_key, queue_url, region, destination)
        )

    # -- CancelSource -----------------------------------------------------------------------------------
    def cancelled_since(self, since: datetime) -> Iterator[OrderChange]:
        """Orders whose state is Cancelled and that changed since `since` (the messages' fallback poll)."""
        for row in self.client.changed_since("orders", since, where='orderState = "Cancelled"'):
            order: CtOrder = parse(CtOrder, row, "order row")
            yield OrderChange(
                source_id=order.id,
                order_number=order.reference,
                status=order.orderState,
                updated_at=order.lastModifiedAt,
            )

    # -- ShipmentTarget -----------------------------------------------------------------------------------
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
        """One despatch as one delivery (its lines, its tracking), then Partial or Shipped.

        The token is the delivery key, claimed before the write. Whether the parcel is there is read from
        the order's deliveries (key, else tracking numbers), never assumed from the token: a server may
        drop the key. Done means the order the update returned holds our delivery. `known` is unused: a
        delivery needs no record of the order's to write to.
        """
        if shipment.parcel_id not in progress:
            remember(delivery_key(shipment))
        order = self.client.add_delivery(source_id, shipment)
        if existing_delivery(order, shipment) is None:
            raise DeliveryNotAcknowledgedError(
                f"commercetools order {order.reference}: the update for parcel {shipment.parcel_id} answered "
                "without its delivery"
            )

    def shipped(self, source_id: str) -> dict[str, int]:
        """SKU -> units in the order's deliveries (for reconciliation)."""
        order = self.client.get_order(source_id)
        by_line = delivered_quantities(order)
        shipped: dict[str, int] = {}
        for item in order.lineItems:
            if by_line.get(item.id) and item.variant.sku:
                shipped[item.variant.sku] = shipped.get(item.variant.sku, 0) + by_line[item.id]
        return shipped

    # -- ReturnTarget -------------------------------------------------------------------------------------
    def record_return(self, source_id: str, notice: ReturnNotice) -> bool:
        """addReturnInfo with the returned lines, then each item's return shipment state from the
        warehouse's disposition; False when the order held all of it already (a repeat). Each update
        reads the order fresh and a 409 decides again, so a repeat or a race writes nothing twice."""
        states = {
            ReturnDisposition.BACK_IN_STOCK: self.settings.return_states.back_in_stock,
            ReturnDisposition.UNUSABLE: self.settings.return_states.unusable,
        }
        wrote = False

        def decide(order: CtOrder) -> list[dict[str, Any]]:
            nonlocal wrote
            actions = warehouse_return_actions(order, notice, states)
            wrote = wrote or bool(actions)
            return actions

        order = self.client.update_order(source_id, decide)  # the return info
        order = self.client.update_order(source_id, decide)  # its items' states, now that they have ids
        if warehouse_return_actions(order, notice, states):
            raise ReturnNotAcknowledgedError(
                f"commercetools order {order.reference}: return {notice.return_id} is not all there after writing it"
            )
        return wrote

    # -- OrderRecords --------------------------------------------------------------------------------------
    def order_record(self, source_id: str) -> OrderRecord:
        """The order's states, the units in its deliveries by SKU and their tracking numbers (one read)."""
        order = self.client.get_order(source_id)
        by_line = delivered_quantities(order)
        delivered: dict[str, int] = {}
        for item in order.lineItems:
            if by_line.get(item.id) and item.variant.sku:
                delivered[item.variant.sku] = delivered.get(item.variant.sku, 0) + by_line[item.id]
        tracking = sorted({number for delivery in order.deliveries for number in delivery.tracking_ids})
        return OrderRecord(
            order_state=order.orderState,
            shipment_state=order.shipmentState or "",
            delivered=delivered,
            tracking=tuple(tracking),
            cancelled=order.orderState == "Cancelled",
        )

    # -- NoteTarget -----------------------------------------------------------------------------------------
    def add_note(self, source_id: str, line: str) -> bool:
        """Add a line to the order's notes field; False when it is there already (a retry)."""
        wrote = False

        def decide(order: CtOrder) -> list[dict[str, Any]]:
            nonlocal wrote
            if order.custom is None and self._note_type_id is None:
                self._note_type_id = self.client.ensure_type(note_type_draft(self.settings))
            actions = note_actions(order, line, self.settings, self._note_type_id or "")
            wrote = bool(actions)
            return actions

        self.client.update_order(source_id, decide)
        return wrote

    # -- CatalogueSource --------------------------------------------------------------------------------------
    def products_changed_since(self, since: datetime) -> Iterator[Product | Rejected]:
        """Every variant of the products changed since `since`; a product that cannot be read, or a
        variant whose SKU may not travel as spelled, comes back as Rejected (never fixed up)."""
        for row in self.client.changed_since("products", since):
            key = str(row.get("id", "")) if isinstance(row, dict) else ""
            try:
                product: CtProduct = parse(CtProduct, row, "product row")
                variants = product_variants(product, self.settings)
            except PermanentError as error:
                yield Rejected(row=row, detail=error.detail, key=key)
                continue
            for variant in variants:
                problem = sku_format_problem(variant.sku)
                if problem:
                    yield Rejected(row=row, detail=f"product {product.id}: {problem}", key=key)
                else:
                    yield variant

    # -- CatalogueAudit -------------------------------------------------------------------------------------
    def catalogue_skus(self) -> set[str]:
        """Every variant SKU of every product, staged or published (one keyset walk of all products)."""
        skus: set[str] = set()
        for row in self.client.changed_since("products", datetime(2000, 1, 1, tzinfo=UTC)):
            product: CtProduct = parse(CtProduct, row, "product row")
            skus |= {variant.sku for variant in product_variants(product, self.settings)}
        return skus

    def stocked_skus(self) -> set[str]:
        """SKUs with units on stock in a configured supply channel: sellable at the shop."""
        return {row.sku for row in self.client.stock_levels(None) if row.on_hand > 0}

    # -- StockSource (the reader: drift) ------------------------------------------------------------------------
    def stock_levels(
        self, skus: list[str] | None = None, location: str | None = None, *, fresh_after: datetime | None = None
    ) -> Iterator[StockRow | Rejected]:
        """The configured channels' entries (all, or these SKUs), at one location when given. Every call
        reads afresh, so any `fresh_after` is met."""
        for row in self.client.stock_levels(skus):
            if location is None or row.location == location:
                yield row
        for bad in self.client.rejected_stock_rows:
            yield Rejected(row=bad["row"], detail=bad["error"], key=str(bad["row"].get("id", "")))

    # -- StockTarget ---------------------------------------------------------------------------------------------
    @property
    def accepts_stock_writes(self) -> bool:
        return True

    def pending_units(self, sku: str, location: str, snapshot_at: datetime | None = None) -> int:
        """Units of `sku` on orders accepted at `location` in the last `pending_order_days` that the
        warehouse does not hold yet (no sync info on our channel, or synced after the warehouse figure
        was read at `snapshot_at`), cancelled ones aside. One query."""
        since = self.client.clock.now() - timedelta(days=self.settings.pending_order_days)
        where = (
            f"lineItems(variant(sku = {quote(sku)})) and orderState != {quote('Cancelled')} "
            f"and createdAt > {quote(format_datetime(since))}"
        )
        lines = [
            line
            for order in self.client.orders_where(where)
            for line in accepted_lines(order, self.settings, snapshot_at)
        ]
        return pending_units(lines, sku, location, sole_location=len(self.settings.supply_channels) == 1)

    def push_stock(self, pushes: list[StockPush]) -> list[RejectedPush]:
        """Set each entry to the warehouse's figure less the accepted-not-allocated units.

        The entry is read first and the pending orders after (so an order accepted in between is
        counted, never missed); a 409 re-reads both and decides again. A SKU no product variant carries
        is refused: an entry for it could be sold before anything exists to buy.
        """
        rejected: list[RejectedPush] = []
        missing = [push.sku for push in pushes]
        known = self.client.skus_in_catalogue(sorted(set(missing))) if missing else set()
        for push in pushes:
            if push.sku not in known:
                rejected.append(
                    RejectedPush(
                        sku=push.sku,
                        location=push.location,
                        message=f"no commercetools product variant has SKU {push.sku!r}",
                    )
                )
                continue

            def decide(decision: StockDecision, push: StockPush = push) -> int:
                return net_figure(push.quantity, self.pending_units(decision.sku, decision.location, push.snapshot_at))

            try:
                self.client.set_stock(push.sku, push.location, decide)
            except PermanentError as error:
                if error.reason is ReasonCode.SOURCE_NOT_FOUND:
                    raise
                rejected.append(RejectedPush(sku=push.sku, location=push.location, message=error.detail))
        return rejected

    def close(self) -> None:
        self.client.close()


if TYPE_CHECKING:  # mypy holds the adapter to every port the spec says it plays

    def _plays(
        ports: CommercetoolsPorts,
    ) -> tuple[OrderSource, ShipmentTarget, CatalogueSource, StockTarget, StockSource, CancelSource, NoteTarget]:
        return (ports, ports, ports, ports, ports, ports, ports)
