"""commercetools (Composable Commerce) client: reads orders, writes back sync info, deliveries and
returns, reads and sets inventory per SKU and supply channel, lists changed products, and keeps the
order subscription.

Every endpoint called is listed in docs/platforms/commercetools.md with its card section and mark.
Every update is optimistic (`{"version": N, "actions": [...]}`): a 409 ConcurrentModification is
answered by reading the resource again and deciding again from what it now holds, never by replaying
the old body, so a write made meanwhile (a reservation, a delivery from a redelivered message) is
respected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx

from shared.clock import Clock, SystemClock
from shared.config import RetryConfig
from shared.connectors.commercetools.mapping import (
    CtOrder,
    CtProduct,
    InventoryEntry,
    ReturnLine,
    Subscription,
    delivery_actions,
    format_datetime,
    has_sync_info,
    parse,
    product_variants,
    quote,
    return_actions,
    to_order,
    to_stock_row,
)
from shared.connectors.commercetools.messages import ORDER_MESSAGE_TYPES
from shared.connectors.commercetools.settings import MAX_UPDATE_ACTIONS, CommercetoolsCredentials, CommercetoolsSettings
from shared.connectors.http import (
    ClientCredentials,
    Disposition,
    PlatformHttp,
    RateBudget,
    Rule,
    TokenBucket,
    each_row,
    json_body,
    status_between,
    status_in,
)
from shared.errors import PermanentError, TransientError
from shared.models import Order, ReasonCode
from shared.models.product import Product
from shared.models.shipment import Shipment
from shared.models.stock import RejectedPush, StockPush, StockRow
from shared.ports import OrderChange
from shared.redaction import module_logger

logger = module_logger(__name__)

T = TypeVar("T")
TARGET = "commercetools"

# First match wins. 409 is handed back to the update loop (re-read, re-decide), not classified here.
RULES: tuple[Rule, ...] = (
    Rule("success", status_between(200, 299), Disposition.OK),
    Rule("ConcurrentModification: re-read and decide again", status_in(409), Disposition.OK),
    Rule("too many requests (back off, honour Retry-After)", status_in(429), Disposition.RATE_LIMITED),
    Rule("token missing, expired or revoked", status_in(401), Disposition.AUTH),
    Rule("token lacks a scope for this call", status_in(403), Disposition.AUTH),
    Rule("not found", status_in(404), Disposition.NOT_FOUND),
    Rule("request timeout", status_in(408), Disposition.RETRY),
    Rule(
        "bad gateway / unavailable / gateway timeout (ramp and retry, §1)", status_in(502, 503, 504), Disposition.RETRY
    ),
    Rule("server error", status_between(500, 599), Disposition.RETRY),
    Rule(
        "request refused (InvalidOperation, InvalidInput, DuplicateField...)",
        status_between(400, 499),
        Disposition.PERMANENT,
        ReasonCode.SOURCE_REJECTED,
    ),
    Rule("unexpected status (redirect or informational)", lambda _response: True, Disposition.RETRY),
)


class ConflictError(TransientError):
    """Still conflicting after re-reading and re-deciding as often as configured: another writer is busy."""


@dataclass(frozen=True)
class HeldSyncInfo:
    """What a caller read of an order, enough to record a warehouse id against it: its version and the
    ids already synced on our channel at that version."""

    version: int
    warehouse_ids: frozenset[str]


@dataclass(frozen=True)
class StockDecision:
    """What a stock caller sees: the fresh entry (None when the SKU has none in this channel)."""

    sku: str
    location: str
    entry: InventoryEntry | None


class CommercetoolsClient(PlatformHttp):
    """OrderSource, StockSource, StockTarget and CatalogueSource over one commercetools project."""

    name = TARGET
    push_batch_size = 100  # one inventory entry per call; a batch is what one message carries

    def __init__(
        self,
        settings: CommercetoolsSettings,
        credentials: CommercetoolsCredentials,
        *,
        retry: RetryConfig,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        http: httpx.Client | None = None,
        timeout: float | None = None,
    ):
        self.settings = settings
        self.credentials = credentials
        clock = clock or SystemClock()
        super().__init__(
            target=TARGET,
            base_url=f"{settings.api_url}/{settings.project_key}/",
            rules=RULES,
            retry=retry,
            # §1: a client-credentials token (default life 48 h), renewed a margin before it expires and
            # after a 401 or 403 (a token revoked or re-scoped since it was issued).
            auth=ClientCredentials(
                token_url=f"{settings.auth_url}/oauth/token",
                client_id=credentials.client_id,
                client_secret=credentials.client_secret.get_secret_value(),
                scope=" ".join(settings.scopes),
                refresh_margin_seconds=settings.token_refresh_margin_seconds,
                renew_on=frozenset({401, 403}),
            ),
            clock=clock,
            # The card publishes no quota: our own allowance (settings.calls_per_minute) unless the caller shares one.
            budget=budget or TokenBucket(settings.calls_per_minute, 60.0, clock),
            http=http,
            timeout=timeout if timeout is not None else retry.timeout_seconds,
        )
        # Rows the last stock_levels read could not map ({"row", "error"}); cleared when the next starts.
        self.rejected_stock_rows: list[dict[str, Any]] = []

    @property
    def project_url(self) -> str:
        return self.base_url

    def invalidate_token(self) -> None:
        if isinstance(self.auth, ClientCredentials):
            self.auth.token = None

    # -- transport --------------------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return json_body(self.send("GET", path, params=params))

    def _results(self, path: str, params: dict[str, Any]) -> list[Any]:
        body = self._get(path, params)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"commercetools {path}: no results list")
        return results

    def _offset_pages(self, path: str, where: str, sort: str = "id asc") -> Iterator[Any]:
        """limit/offset paging with withTotal=false (§1), stopped on a short page; for small result sets
        (offset is capped at 10 000: deep listings go through `_keyset` instead)."""
        limit = self.settings.page_limit

        def fetch(offset: int) -> list[Any]:
            if offset > 10_000:
                raise PermanentError(
                    ReasonCode.PAYLOAD_INVALID, f"commercetools {path}: more than 10 000 rows for {where}"
                )
            return self._results(
                path, {"where": where, "sort": sort, "limit": limit, "offset": offset, "withTotal": "false"}
            )

        return each_row(self.offset_pages(fetch, limit=limit))

    def _keyset(self, path: str, since: datetime, where: str = "") -> Iterator[Any]:
        """Changed since `since` (and matching `where`), in (lastModifiedAt, id) order: each page starts
        after the last row, so no offset cap applies and a row modified during the walk is not skipped
        (card §1 deep paging)."""
        stamp, last_id = format_datetime(since), ""
        while True:
            changed = f"lastModifiedAt > {quote(stamp)}"
            if last_id:
                changed += f" or (lastModifiedAt = {quote(stamp)} and id > {quote(last_id)})"
            page = self._results(
                path,
                {
                    "where": f"({where}) and ({changed})" if where else changed,
                    "sort": ["lastModifiedAt asc", "id asc"],
                    "limit": self.settings.page_limit,
                    "withTotal": "false",
                },
            )
            yield from page
            if len(page) < self.settings.page_limit:
                return
            stamp, last_id = str(page[-1]["lastModifiedAt"]), str(page[-1]["id"])

    def _post_update(self, path: str, version: int, actions: list[dict[str, Any]]) -> httpx.Response | None:
        """One optimistic update (§1); None when the version was stale (409 ConcurrentModification)."""
        if len(actions) > MAX_UPDATE_ACTIONS:
            raise PermanentError(ReasonCode.SOURCE_REJECTED, f"{len(actions)} update actions for {path}")
        response = self.send("POST", path, json={"version": version, "actions": actions})
        if response.status_code == 409:
            logger.info("commercetools %s changed under us (409): re-reading", path)
            return None
        return response

    def _update(
        self,
        path: str,
        read: Callable[[], T],
        decide: Callable[[T], list[dict[str, Any]]],
        version_of: Callable[[T], int],
        parse_result: Callable[[Any], T],
        held: T | None = None,
    ) -> T:
        """Read, decide, POST with the version; on 409 read again and decide again (idempotent by design:
        `decide` returns [] when what it wants is already there). `held` is the resource as the caller has
        just read it: the first decision and write go against it and its version, with no read of ours."""
        current = held if held is not None else read()
        for _ in range(self.settings.max_conflict_retries):
            actions = decide(current)
            if not actions:
                return current
            response = self._post_update(path, version_of(current), actions)
            if response is not None:
                return parse_result(json_body(response))
            current = read()
        raise ConflictError(
            f"commercetools {path}: still ConcurrentModification after {self.settings.max_conflict_retries} re-reads"
        )

    # -- orders (§2) --------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> CtOrder:
        order: CtOrder = parse(CtOrder, self._get(f"orders/{order_id}"), f"order {order_id}")
        return order

    def order_by_number(self, order_number: str) -> CtOrder:
        order: CtOrder = parse(CtOrder, self._get(f"orders/order-number={order_number}"), f"order {order_number}")
        return order

    def read_order(self, source_id: str) -> tuple[Order, dict[str, Any]]:
        raw = self._get(f"orders/{source_id}")
        order: CtOrder = parse(CtOrder, raw, f"order {source_id}")
        return to_order(order, self.settings), raw

    def fetch_order(self, source_id: str) -> Order:
        return self.read_order(source_id)[0]

    def orders_changed_since(self, since: datetime) -> Iterator[OrderChange]:
        for row in self._keyset("orders", since):
            order: CtOrder = parse(CtOrder, row, "order row")
            yield OrderChange(
                source_id=order.id,
                order_number=order.reference,
                status=order.orderState,
                updated_at=order.lastModifiedAt,
            )

    def _order_update(self, order_id: str, decide: Callable[[CtOrder], list[dict[str, Any]]]) -> CtOrder:
        return self._update(  # type: ignore[no-any-return]
            f"orders/{order_id}",
            read=lambda: self.get_order(order_id),
            decide=decide,
            version_of=lambda order: order.version,
            parse_result=lambda body: parse(CtOrder, body, f"order {order_id}"),
        )

    def _sync_info_actions(
        self, warehouse_order_id: str, synced_at: datetime | None, already: bool
    ) -> list[dict[str, Any]]:
        channel = self.settings.sync_channel_id
        if not channel:
            raise PermanentError(ReasonCode.SOURCE_REJECTED, "commercetools sync_channel_id is not set")
        if already:
            return []
        return [
            {
                "action": "updateSyncInfo",
                "channel": {"typeId": "channel", "id": channel},
                "externalId": warehouse_order_id,
                "syncedAt": format_datetime(synced_at or self.clock.now()),
            }
        ]

    def update_sync_info(self, order_id: str, warehouse_order_id: str, synced_at: datetime | None = None) -> CtOrder:
        """Record the warehouse's order id on the order (syncInfo on the configured channel); once."""
        channel = self.settings.sync_channel_id or ""
        return self._order_update(
            order_id,
            lambda order: self._sync_info_actions(
                warehouse_order_id, synced_at, has_sync_info(order, channel, warehouse_order_id)
            ),
        )

    def update_sync_info_as_read(
        self, order_id: str, warehouse_order_id: str, as_read: HeldSyncInfo, synced_at: datetime | None = None
    ) -> CtOrder | None:
        """`update_sync_info` for a caller that has just read the order: the first write goes against the
        version it read, decided on the ids it held then, with no read of ours. A 409 means the order moved
        since: it is read and decided again (`update_sync_info`), so an id recorded meanwhile is not written
        twice. None when the order as read holds the id already (nothing sent)."""
        first = self._sync_info_actions(warehouse_order_id, synced_at, warehouse_order_id in as_read.warehouse_ids)
        if not first:
            return None
        response = self._post_update(f"orders/{order_id}", as_read.version, first)
        if response is None:
            return self.update_sync_info(order_id, warehouse_order_id, synced_at)
        written: CtOrder = parse(CtOrder, json_body(response), f"order {order_id}")
        return written

    def add_delivery(self, order_id: str, shipment: Shipment) -> CtOrder:
        """Record one despatch as a delivery with its parcels' tracking, then Partial or Shipped.

        Idempotent: a redelivered shipment finds its delivery (by key or tracking numbers) and writes
        nothing; a 409 re-reads the order, so a delivery added meanwhile is counted before deciding.
        """
        return self._order_update(order_id, lambda order: delivery_actions(order, shipment, self.settings))

    def add_return_info(
        self,
        order_id: str,
        lines: list[ReturnLine],
        *,
        tracking_id: str | None = None,
        return_date: datetime | None = None,
    ) -> CtOrder:
        """Record returned lines (shipmentState Returned); once per tracking id and item set."""
        return self._order_update(
            order_id, lambda order: return_actions(order, lines, tracking_id=tracking_id, return_date=return_date)
        )

    # -- inventory (§4) -----------------------------------------------------------------------------
    def _channel(self, location: str) -> str:
        channel = self.settings.channel_for(location)
        if channel is None:
            raise PermanentError(
                ReasonCode.STOCK_PUSH_REJECTED, f"no supply channel configured for location {location!r}"
            )
        return channel

    def inventory_entry(self, sku: str, location: str) -> InventoryEntry | None:
        """The one entry for (sku, supply channel). Several (a mock accepts duplicates; the platform does
        not): the oldest by id order is used, consistently."""
        where = f"sku = {quote(sku)} and supplyChannel(id = {quote(self._channel(location))})"
        rows = self._results("inventory", {"where": where, "sort": "id asc", "limit": 2, "withTotal": "false"})
        if not rows:
            return None
        entry: InventoryEntry = parse(InventoryEntry, rows[0], f"inventory {sku}")
        return entry

    def set_stock(
        self, sku: str, location: str, decide: Callable[[StockDecision], int | None]
    ) -> InventoryEntry | None:
        """Set `quantityOnStock` to the absolute figure `decide` returns for the fresh entry (None: leave it).

        A 409 re-reads the entry and asks `decide` again, so a caller that nets reservations off the
        snapshot (card §4 gotcha) does so against the figures that are current. A missing entry is
        created; losing a create race to another writer (400 DuplicateField) re-reads and updates.
        """
        channel = self._channel(location)
        for _ in range(self.settings.max_conflict_retries):
            entry = self.inventory_entry(sku, location)
            if entry is not None:
                return self._change_quantity(entry, location, decide)
            quantity = decide(StockDecision(sku, location, None))
            if quantity is None:
                return None
            try:
                created = json_body(
                    self.send(
                        "POST",
                        "inventory",
                        idempotent=False,
                        json={
                            "sku": sku,
                            "supplyChannel": {"typeId": "channel", "id": channel},
                            "quantityOnStock": quantity,
                        },
                    )
                )
            except PermanentError as error:
                if "DuplicateField" not in error.detail:
                    raise
                continue
            result: InventoryEntry = parse(InventoryEntry, created, f"inventory {sku}")
            return result
        raise ConflictError(f"commercetools inventory {sku}@{location}: create kept racing")

    def _change_quantity(
        self, entry: InventoryEntry, location: str, decide: Callable[[StockDecision], int | None]
    ) -> InventoryEntry:
        def actions(current: InventoryEntry) -> list[dict[str, Any]]:
            quantity = decide(StockDecision(current.sku, location, current))
            if quantity is None or quantity == current.quantityOnStock:
                return []
            return [{"action": "changeQuantity", "quantity": quantity}]

        def reread() -> InventoryEntry:
            fresh: InventoryEntry = parse(InventoryEntry, self._get(f"inventory/{entry.id}"), f"inventory {entry.sku}")
            return fresh

        return self._update(
            f"inventory/{entry.id}",
            read=reread,
            decide=actions,
            version_of=lambda current: current.version,
            parse_result=lambda body: parse(InventoryEntry, body, f"inventory {entry.sku}"),
            held=entry,
        )

    def push_stock(self, pushes: list[StockPush]) -> list[RejectedPush]:
        """StockTarget: absolute figures as given (the caller has already netted what it must)."""
        rejected: list[RejectedPush] = []
        for push in pushes:
            try:
                self.set_stock(push.sku, push.location, _absolute(push.quantity))
            except PermanentError as error:
                if error.reason is ReasonCode.SOURCE_NOT_FOUND:
                    raise
                rejected.append(RejectedPush(sku=push.sku, location=push.location, message=error.detail))
        return rejected

    def stock_levels(self, skus: list[str] | None = None) -> Iterator[StockRow]:
        """StockSource: the entries of the configured channels (all, or of these SKUs), 100 SKUs a query."""
        self.rejected_stock_rows = []
        channels = ", ".join(quote(cid) for cid in self.settings.supply_channels.values())
        if not channels:
            return
        groups = [None] if skus is None else [skus[i : i + 100] for i in range(0, len(skus), 100)]
        for group in groups:
            where = f"supplyChannel(id in ({channels}))"
            if group is not None:
                where = f"sku in ({', '.join(quote(sku) for sku in group)}) and " + where
            for row in self._offset_pages("inventory", where):
                try:
                    entry: InventoryEntry = parse(InventoryEntry, row, "inventory row")
                except PermanentError as error:
                    self.rejected_stock_rows.append({"row": row, "error": error.detail})
                    continue
                yield to_stock_row(entry, self.settings)

    # -- products --------------------------------------------------------------------------------------
    def products_changed_since(self, since: datetime) -> Iterator[Product]:
        """Every variant (by SKU) of the products changed since `since`, so each can be created at the
        warehouse before it sells."""
        for row in self._keyset("products", since):
            product: CtProduct = parse(CtProduct, row, "product row")
            yield from product_variants(product, self.settings)

    # -- subscription (§2) -------------------------------------------------------------------------------
    def subscription(self, key: str) -> Subscription | None:
        try:
            body = self._get(f"subscriptions/key={key}")
        except PermanentError as error:
            if error.reason is ReasonCode.SOURCE_NOT_FOUND:
                return None
            raise
        found: Subscription = parse(Subscription, body, f"subscription {key}")
        return found

    def ensure_subscription(
        self, key: str, queue_url: str, region: str, destination: dict[str, Any] | None = None
    ) -> Subscription:
        """The order subscription, created when missing: by default to our SQS queue (IAM auth: the queue
        policy grants commercetools' principal sqs:SendMessage, no keys are stored), or to `destination`
        (an EventBridge one). Its `status` is the caller's to alarm on when it is not Healthy."""
        wanted = destination or {"type": "SQS", "queueUrl": queue_url, "region": region, "authenticationMode": "IAM"}
        existing = self.subscription(key)
        if existing is not None:
            differs = [
                k for k in ("type", "queueUrl", "accountId", "region") if existing.destination.get(k) != wanted.get(k)
            ]
            if differs:
                raise PermanentError(
                    ReasonCode.SOURCE_REJECTED,
                    f"commercetools subscription {key} sends to "
                    f"{existing.destination.get('queueUrl') or existing.destination}, "
                    f"not {wanted.get('queueUrl') or wanted}",
                )
            return existing
        body = json_body(
            self.send(
                "POST",
                "subscriptions",
                idempotent=False,
                json={
                    "key": key,
                    "destination": wanted,
                    "messages": [{"resourceTypeId": "order", "types": list(ORDER_MESSAGE_TYPES)}],
                    "format": {"type": "Platform"},
                },
            )
        )
        created: Subscription = parse(Subscription, body, f"subscription {key}")
        return created

    # -- reads and writes the ports adapter (ports.py) needs ---------------------------------------------
    def changed_since(self, resource: str, since: datetime, where: str = "") -> Iterator[dict[str, Any]]:
        """Raw rows of `resource` changed since `since` (and matching `where`), in (lastModifiedAt, id)
        order, keyset-paged like `_keyset`: the caller maps each row and keeps the ones it cannot."""
        return self._keyset(resource, since, where)

    def orders_where(self, where: str) -> Iterator[CtOrder]:
        """Orders matching a predicate (a small set: offset-paged, capped at 10 000 rows)."""
        for row in self._offset_pages("orders", where):
            order: CtOrder = parse(CtOrder, row, "order row")
            yield order

    def update_order(self, order_id: str, decide: Callable[[CtOrder], list[dict[str, Any]]]) -> CtOrder:
        """Any order update by read, decide, write; a 409 reads and decides again (`decide` returns []
        when what it wants is there)."""
        return self._order_update(order_id, decide)

    def skus_in_catalogue(self, skus: list[str]) -> set[str]:
        """Which of these SKUs a product variant carries, staged or published, exactly as spelled."""
        found: set[str] = set()
        for start in range(0, len(skus), 100):
            group = ", ".join(quote(sku) for sku in skus[start : start + 100])
            variants = f"masterVariant(sku in ({group})) or variants(sku in ({group}))"
            where = f"masterData(current({variants}) or staged({variants}))"
            for row in self._offset_pages("products", where):
                product: CtProduct = parse(CtProduct, row, "product row")
                found |= {p.sku for p in product_variants(product, self.settings)}
        return found & set(skus)

    def ensure_type(self, draft: dict[str, Any]) -> str:
        """The id of a custom field Type (by `draft["key"]`), created when the project lacks it."""
        try:
            return str(self._get(f"types/key={draft['key']}")["id"])
        except PermanentError as error:
            if error.reason is not ReasonCode.SOURCE_NOT_FOUND:
                raise
        try:
            return str(json_body(self.send("POST", "types", idempotent=False, json=draft))["id"])
        except PermanentError as error:
            if "DuplicateField" not in error.detail:
                raise
        return str(self._get(f"types/key={draft['key']}")["id"])  # created meanwhile by another writer


def _absolute(quantity: int) -> Callable[[StockDecision], int]:
    """A stock decision that ignores the fresh entry: the caller's figure is already the one to hold."""
    return lambda _decision: quantity
