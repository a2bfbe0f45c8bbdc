"""Scend (3PL warehouse) client: creates orders, finds them by our reference, checks SKUs, reads status,
and reports what it despatched.

Every endpoint called is listed in docs/platforms/scend.md with its card section and mark. The one the
card does not have (a stock write) is named in the client's config and answers a 404/405 with one
EndpointUnavailableError naming that setting.

No public Scend API document exists: the shape is inferred from Mintsoft, confirm with Scend
(see the Scend API reference card). Mintsoft sits behind Cloudflare, which throttles per source IP
with 429 + `Retry-After: 0` and sometimes an HTML page, and answers many writes with HTTP 200 and
`Success: false` in the body, so the status code alone never means "accepted".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from shared.clock import Clock
from shared.config import RetryConfig
from shared.connectors.http import (
    Disposition,
    PlatformHttp,
    RateBudget,
    Rule,
    StaticHeaders,
    each_row,
    status_between,
    status_in,
)
from shared.connectors.scend.mapping import (
    DAMAGED_TYPES,
    PRODUCT_FIELD_NAMES,
    QUARANTINE_TYPES,
    CreateOrderResult,
    DespatchedOrderRow,
    OrderRow,
    ReturnRow,
    despatch_label,
    format_since,
    has_breakdown,
    is_duplicate_message,
    is_product_exists_message,
    is_unknown_sku_message,
    neutral_status,
    order_id_of,
    parent_reference,
    parse_create_results,
    parse_despatched_order,
    parse_items,
    parse_order_products,
    parse_order_rows,
    parse_parcels,
    parse_product_rows,
    parse_return,
    parse_scend_datetime,
    parse_stock_push_results,
    product_fields,
    product_refusal_reason,
    product_request,
    stock_key_of,
    stock_push_body,
    to_despatch,
    to_order_request,
    to_return_notice,
    to_stock_row,
)
from shared.connectors.scend.settings import DEFAULT_RETURN_ACTIONS
from shared.connectors.scend.statuses import status_read
from shared.errors import EndpointUnavailableError, NotFoundError, PermanentError, TransientError
from shared.models import Order, ReasonCode, WarehouseOrderRef, WarehouseStatusRead
from shared.models.feed import Rejected
from shared.models.product import PRODUCT_FIELDS, Product, WarehouseProduct
from shared.models.returns import ReturnDisposition, ReturnNotice
from shared.models.shipment import Shipment
from shared.models.stock import RejectedPush, StockPush, StockRow
from shared.redaction import module_logger

logger = module_logger(__name__)

T = TypeVar("T")


def _success_without_json(response: httpx.Response) -> bool:
    """A 2xx whose non-empty body is not JSON: a proxy or Cloudflare page, not the API's answer."""
    if not 200 <= response.status_code <= 299 or not response.content:
        return False
    try:
        response.json()
    except ValueError:
        return True
    return False


# First match wins. Success:false inside a 2xx body is checked by the method that reads it.
RULES: tuple[Rule, ...] = (
    Rule("2xx with a non-JSON body (proxy or Cloudflare page)", _success_without_json, Disposition.RETRY),
    Rule("success (check Success in the body)", status_between(200, 299), Disposition.OK),
    Rule("Cloudflare rate limit (error 1015, Retry-After: 0)", status_in(429), Disposition.RATE_LIMITED),
    Rule("API key refused (wrong, or a 24 h key expired)", status_in(401, 403), Disposition.AUTH),
    Rule("not found", status_in(404), Disposition.NOT_FOUND),
    Rule("request timeout", status_in(408), Disposition.RETRY),
    Rule("server error", status_between(500, 599), Disposition.RETRY),
    Rule("request refused", status_between(400, 499), Disposition.PERMANENT, ReasonCode.WAREHOUSE_REJECTED),
    Rule("unexpected status (redirect or informational)", lambda _response: True, Disposition.RETRY),
)

# Cloudflare's Retry-After: 0 is not an invitation; integrators back off 5 s, 10 s, ... up to 60 s.
THROTTLE_MIN_WAIT_SECONDS = 5.0
MAX_PAGE_LIMIT = 100  # Mintsoft: Limit at most 100 on .../List, no totals
STOCK_PUSH_BATCH = 100  # rows per call to the stock write endpoint [I]
# The card's poll asks for 4 Despatched; the happy path goes on to 5 Invoiced, and an order invoiced between
# two polls no longer lists under 4, so 5 is read as well. (6 Invoice failed is left to the mismatch monitor,
# which flags an order despatched at Scend with nothing written back.)
DESPATCHED_STATUS_IDS = (4, 5)
STOCK_WRITE_SETTING = "platforms.<scend instance>.stock_write_endpoint"
STOCK_FEED_SETTING = "platforms.<scend instance>.stock_feed_endpoint"
STOCK_FEED_ENDPOINT = "Product/StockLevels/UpdatedSince"  # card 3.6 [V]: path and FromDate
# Despatches already read in this process, by (order ID, DespatchDate): an order that has left does not
# change, and the poll's overlap re-lists it several times, so its parcels are read once [I].
DESPATCH_MEMORY = 5000


class ScendClient(PlatformHttp):
    """FulfilmentTarget and ShipmentSource for Scend over its (Mintsoft-shaped) REST API; one per warehouse account."""

    name = "scend"
    push_batch_size = STOCK_PUSH_BATCH

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        client_id: int = 0,
        warehouse_id: int | None = None,
        channel: str = "API",
        retry: RetryConfig,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        http: httpx.Client | None = None,
        timeout: float | None = None,
        page_limit: int = MAX_PAGE_LIMIT,
        stock_write_endpoint: str | None = None,
        stock_write_setting: str = STOCK_WRITE_SETTING,
        return_actions: Mapping[str, ReturnDisposition] | None = None,
        return_actions_setting: str = "platforms.<scend instance>.return_actions",
        stock_feed_endpoint: str | None = STOCK_FEED_ENDPOINT,
        stock_feed_setting: str = STOCK_FEED_SETTING,
        quarantine_types: tuple[str, ...] = QUARANTINE_TYPES,
        damaged_types: tuple[str, ...] = DAMAGED_TYPES,
    ):
        if not 1 <= page_limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"page_limit must be 1-{MAX_PAGE_LIMIT}, got {page_limit}")
        super().__init__(
            target="scend",
            base_url=base_url,
            rules=RULES,
            retry=retry,
            auth=StaticHeaders({"ms-apikey": api_key}),
            clock=clock,
            budget=budget,
            http=http,
            timeout=timeout if timeout is not None else retry.timeout_seconds,
            min_throttle_wait=THROTTLE_MIN_WAIT_SECONDS,
        )
        self.page_limit = page_limit
        # INFERRED, named in config: None when the warehouse accepts no stock writes (drift is reported only).
        self.stock_write_endpoint = stock_write_endpoint.strip("/") if stock_write_endpoint else None
        self.stock_write_setting = stock_write_setting  # the config field an operator fixes
        self.stock_feed_endpoint = stock_feed_endpoint.strip("/") if stock_feed_endpoint else None
        self.stock_feed_setting = stock_feed_setting
        self.quarantine_types = quarantine_types
        self.damaged_types = damaged_types
        self._despatches: OrderedDict[tuple[str, str], Shipment] = OrderedDict()
        self.return_actions = dict(DEFAULT_RETURN_ACTIONS if return_actions is None else return_actions)
        self.return_actions_setting = return_actions_setting
        self._returns: OrderedDict[str, ReturnNotice] = OrderedDict()  # confirmed returns read (they do not change)
        self.client_id = client_id
        self.warehouse_id = warehouse_id
        self.channel = channel

    # -- transport -----------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        """One call; the JSON body, or None for an empty one."""
        return self.call_json(method, path, idempotent=idempotent, allow_empty=True, **kwargs)

    def _list(
        self, path: str, params: dict[str, Any], key: Callable[[Any], Any], seen: set[Any] | None = None
    ) -> Iterator[Any]:
        """A PageNo + Limit listing (card 3.1: Limit at most 100, no totals, a short page is the end); a
        full page of rows already read (by `key`) means PageNo is ignored, so the read stops there."""

        def fetch(page: int) -> tuple[list[Any], None]:
            body = self._call("GET", path, params={**params, "PageNo": page})
            rows = [] if body is None else body
            if not isinstance(rows, list):
                raise PermanentError(
                    ReasonCode.PAYLOAD_INVALID,
                    f"scend {path} page {page}: expected a JSON array, got {type(rows).__name__}",
                )
            return rows, None

        return each_row(self.numbered_pages(fetch, limit=self.page_limit, key=key, seen=seen, what=f"scend {path}"))

    # -- FulfilmentTarget ----------------------------------------------------------------------
    def find_order(self, client_reference: str) -> WarehouseOrderRef | None:
        """Our order at the warehouse, by exact OrderNumber; None when it is not there.

        Order/Search may match partially, so only an exact, case-sensitive OrderNumber counts.
        """
        try:
            body = self._call("GET", "Order/Search", params={"OrderNumber": client_reference})
        except NotFoundError:
            return None  # an empty search may be answered with 404 rather than [] [I]
        rows = _read(parse_order_rows, body, "Order/Search")
        matches = sorted((row for row in rows if row.OrderNumber == client_reference), key=lambda row: row.ID)
        if not matches:
            return None
        if len(matches) > 1:
            logger.warning(
                "scend holds %d orders with OrderNumber %s (ids %s); using the first",
                len(matches),
                client_reference,
                [row.ID for row in matches],
            )
        return _ref(matches[0], client_reference)

    def create_order(self, order: Order, client_reference: str, courier_service: str) -> WarehouseOrderRef:
        """Create the order; a repeat of an existing OrderNumber returns the existing order (created=False).

        The PUT is only re-sent in-process when the warehouse provably did not act on it (throttled,
        never connected). After a timeout or a lost response the error escapes, and the caller's retry
        searches before creating again; should a repeat still reach the warehouse, its "already exists"
        answer resolves here through find_order.
        """
        body = to_order_request(
            order,
            client_reference,
            courier_service,
            client_id=self.client_id,
            warehouse_id=self.warehouse_id,
            channel=self.channel,
        )
        # Not re-sent in-process after an ambiguous failure: the next delivery searches first (order_submit).
        answer = self._call("PUT", "Order", json=body, idempotent=False)
        try:
            results = parse_create_results(answer)
        except ValidationError as exc:
            # The write may have happened: retrying lands on the duplicate guard, quarantining would not.
            raise TransientError(f"scend PUT Order: unreadable response for {client_reference}: {exc}") from exc
        result = _result_for(results, client_reference)
        if result.Success:
            if result.OrderId:
                return WarehouseOrderRef(
                    warehouse_order_id=str(result.OrderId),
                    client_reference=client_reference,
                    status=neutral_status(result.OrderStatusId or 1),
                    created=True,
                )
            return self._must_find(client_reference, "reported success without an OrderId")
        message = (result.Message or "").strip() or "Success: false with no message"
        if is_duplicate_message(message):
            existing = self._must_find(client_reference, message)
            logger.info("scend already holds %s as order %s", client_reference, existing.warehouse_order_id)
            return existing
        if is_unknown_sku_message(message):
            raise PermanentError(ReasonCode.SKU_UNKNOWN, message)
        raise PermanentError(ReasonCode.WAREHOUSE_REJECTED, message)

    def known_skus(self, skus: list[str]) -> set[str]:
        """The given SKUs that exist in the warehouse catalogue (exact, case-sensitive).

        One GET Product/Search per distinct SKU. The search takes no paging parameters, so a partial
        match cannot push the exact row off a page; Product/List would cost a call per 100 catalogue
        rows, which is more than the handful of SKUs on an order.
        """
        found: set[str] = set()
        for sku in dict.fromkeys(skus):
            if not sku.strip():
                continue  # an empty search would list the whole catalogue; such a SKU cannot exist
            body = self._call("GET", "Product/Search", params={"Search": sku, "IncludeBundles": "true"})
            rows = _read(parse_product_rows, body, "Product/Search")
            if any(sku == row.SKU for row in rows):
                found.add(sku)
        return found

    def all_skus(self) -> Iterator[str]:
        """SkuListing: every SKU in the warehouse catalogue, exactly as spelled (card 3.7 [V]: GET Product/List,
        paged per 3.1); for the daily audit, where one call per 100 items beats a search per SKU."""
        params: dict[str, Any] = {"Limit": self.page_limit}
        if self.client_id:
            params["ClientId"] = self.client_id
        for row in self._list("Product/List", params, lambda row: row.get("ID") if isinstance(row, dict) else None):
            for product in _read(parse_product_rows, [row], "Product/List"):
                yield product.SKU

    # -- CatalogueTarget ------------------------------------------------------------------------
    def find_product(self, sku: str) -> WarehouseProduct | None:
        """The warehouse's item for exactly this SKU (case-sensitive), or None: one Product/Search call."""
        if not sku.strip():
            return None
        body = self._call("GET", "Product/Search", params={"Search": sku, "IncludeBundles": "true"})
        rows = _read(parse_product_rows, body, "Product/Search")
        row = next((r for r in rows if sku == r.SKU and r.ID is not None), None)
        if row is None:
            return None
        return WarehouseProduct(item_id=str(row.ID), sku=row.SKU, fields=product_fields(row))

    def create_product(self, product: Product) -> WarehouseProduct:
        """One PUT Product with every field (creation is the one time warehouse-owned fields are sent).

        Not re-sent in-process after an ambiguous failure; the redelivery's find_product sees a create
        that landed. A SKU the warehouse already holds answers "already exists" and resolves to it
        (one more call, Product/Search). A refusal of the SKU's format is PermanentError(SKU_INVALID),
        any other refusal (EAN, missing name...) PermanentError(WAREHOUSE_REJECTED), with the Message.
        """
        body = product_request(product, PRODUCT_FIELDS, client_id=self.client_id)
        answer = self._call("PUT", "Product", json=body, idempotent=False)
        result = _product_result(answer, product.sku)
        if result.get("Success"):
            if result.get("ID") is not None:
                held = {field: _wire_text(body.get(PRODUCT_FIELD_NAMES[field])) for field in PRODUCT_FIELDS}
                return WarehouseProduct(item_id=str(result["ID"]), sku=product.sku, fields=held)
            return self._must_find_product(product.sku, "reported success without an ID")
        message = str(result.get("Message") or "").strip() or "Success: false with no message"
        if is_product_exists_message(message):
            existing = self._must_find_product(product.sku, message)
            logger.info("scend already holds SKU %r as item %s", product.sku, existing.item_id)
            return existing
        raise PermanentError(
            product_refusal_reason(message, product.sku), f"scend refused product {product.sku!r}: {message}"
        )

    def update_product(self, existing: WarehouseProduct, product: Product, fields: tuple[str, ...]) -> None:
        """One POST Product with the item's ID and only `fields` (what the source owns and changed).

        A field not listed is never sent: the warehouse owns it. Idempotent (it sets values), so it is
        retried in-process. No fields, no call. A listed field whose new value is empty is not sent
        either (the warehouse keeps its value: clearing is not a sync). Refusals as for create_product.
        """
        unknown = [field for field in fields if field not in PRODUCT_FIELD_NAMES]
        if unknown:
            raise ValueError(f"not product fields: {unknown}")
        if not fields:
            return
        if not existing.item_id.isdigit():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"scend item id {existing.item_id!r} is not numeric")
        body = {"ID": int(existing.item_id), **product_request(product, fields, client_id=self.client_id)}
        result = _product_result(self._call("POST", "Product", json=body), product.sku)
        if not result.get("Success"):
            message = str(result.get("Message") or "").strip() or "Success: false with no message"
            raise PermanentError(
                product_refusal_reason(message, product.sku), f"scend refused update of {product.sku!r}: {message}"
            )

    def order_status(self, warehouse_order_id: str) -> WarehouseStatusRead:
        """Live status of an order we created: Scend's OrderStatusId with its name and neutral status (read
        before deciding whether to cancel; the cancel table is keyed by Scend's own id)."""
        if not warehouse_order_id.isdigit():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"scend order id '{warehouse_order_id}' is not numeric")
        body = self._call("GET", f"Order/{warehouse_order_id}")
        rows = _read(parse_order_rows, body, "Order/{id}")
        if not rows:
            raise NotFoundError(f"scend order {warehouse_order_id}: empty response")
        return status_read(rows[0].OrderStatusId)

    def cancel_order(self, warehouse_order_id: str) -> tuple[bool, str]:
        """Ask the warehouse to cancel: (accepted, message). GET Order/{id}/Cancel answers a ToolkitResult
        {ID, Success, Message} [V]; Success:false is a refusal whose Message is the warehouse's reason.

        A GET that changes state, but one that is safe to repeat: cancelling a cancelled order is
        answered Success (or a refusal naming it cancelled, which the caller's status read then settles) [I].
        Refusal rules are not documented [?]; the card's table (statuses.py) is applied first, so this is
        called only at a status where the warehouse is expected to accept.
        """
        if not warehouse_order_id.isdigit():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"scend order id '{warehouse_order_id}' is not numeric")
        answer = self._call("GET", f"Order/{warehouse_order_id}/Cancel")
        row = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(row, dict) or not isinstance(row.get("Success"), bool):
            # The cancel may have happened: a retry repeats it harmlessly, a quarantine would not settle it.
            raise TransientError(f"scend Order/{warehouse_order_id}/Cancel: unreadable response {str(answer)[:200]}")
        message = str(row.get("Message") or "").strip()
        return bool(row["Success"]), message

    def order_state(self, warehouse_order_id: str) -> WarehouseOrderRef | None:
        """Live status and last change of an order we created; None when the warehouse does not know the id
        (the mismatch monitor's read: a missing order is a finding there, not an error)."""
        if not warehouse_order_id.isdigit():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"scend order id '{warehouse_order_id}' is not numeric")
        try:
            body = self._call("GET", f"Order/{warehouse_order_id}")
        except NotFoundError:
            return None
        rows = _read(parse_order_rows, body, "Order/{id}")
        return _state(rows[0]) if rows else None

    def order_states_since(self, since: datetime) -> list[WarehouseOrderRef]:
        """The orders changed since `since` with their live state and last change, in one call
        (WarehouseStateFeed): one `GET Order/List?SinceLastUpdated=` page of the card's largest Limit (100,
        3.1/3.2 [V]), in this client and warehouse."""
        params: dict[str, Any] = {"SinceLastUpdated": format_since(since), "Limit": MAX_PAGE_LIMIT, "PageNo": 1}
        if self.client_id:
            params["ClientId"] = self.client_id
        if self.warehouse_id is not None:
            params["WarehouseId"] = self.warehouse_id
        body = self._call("GET", "Order/List", params=params)
        if body is not None and not isinstance(body, list):
            raise PermanentError(
                ReasonCode.PAYLOAD_INVALID, f"scend Order/List: expected a JSON array, got {type(body).__name__}"
            )
        rows = _read(parse_order_rows, body or [], "Order/List")
        return [_state(row) for row in rows]

    # -- ShipmentSource ------------------------------------------------------------------------
    def shipments_since(self, since: datetime) -> Iterator[Shipment | Rejected]:
        """What left the warehouse since `since`: one Shipment per despatched order (or split part), in
        the order the warehouse lists them.

        Card 3.5 [V]: GET Order/List?OrderStatusId=4&SinceDespatchDate=<since>&IncludeOrderItems=true
        (paged per 3.1: PageNo + Limit up to 100, no totals, stop on a short page; also for 5 Invoiced,
        which an order reaches after 4), then GET Order/{id}/Shipments for its
        parcels. Parcel rows carry ID, OrderId, ParcelNo and tracking, not the order number: the
        reference is the order's. A part of a split order (NumberOfParts above 1) names the order it
        was split from in GET Order/{id}/Splits; the reference is that order's [I: meaning of the
        fields]. An order listed without items is read with GET Order/{id}/Items.

        The despatch id (Shipment.parcel_id) is the despatched order's ID: stable across polls, one
        per order or split part. An order re-listed by the overlap window costs no second read of its
        parcels in the same process (it has left; its despatch does not change). A full page of orders
        already seen means PageNo is ignored: the read stops there. A row that cannot be mapped does
        not stop the feed: it is logged and yielded as `Rejected` for the caller to quarantine. A page
        that is not a JSON array is PAYLOAD_INVALID for the poll.
        """
        seen: set[str] = set()
        for status_id in DESPATCHED_STATUS_IDS:
            params: dict[str, Any] = {
                "OrderStatusId": status_id,
                "SinceDespatchDate": format_since(since),
                "IncludeOrderItems": "true",
                "Limit": self.page_limit,
            }
            if self.client_id:
                params["ClientId"] = self.client_id
            if self.warehouse_id is not None:
                params["WarehouseId"] = self.warehouse_id
            yield from self._despatched_pages(params, seen)

    def _despatched_pages(self, params: dict[str, Any], seen: set[str]) -> Iterator[Shipment | Rejected]:
        for row in self._list("Order/List", params, order_id_of, seen):
            try:
                shipment = self._despatch(parse_despatched_order(row))
            except PermanentError as error:
                # One order's unreadable row, or a refused read of its parcels, splits or items, must not
                # hold back the rest of the feed: it is set aside for quarantine.
                logger.warning("scend: skipping despatched order (%s): %s", despatch_label(row), error.detail)
                yield Rejected(row=row, detail=error.detail, key=order_id_of(row) or "")
                continue
            yield shipment

    def _despatch(self, order: DespatchedOrderRow) -> Shipment:
        """One despatched order with its items, its parcels and the reference of the order it belongs to;
        an order re-listed by the poll's overlap is not read again (it left already, it does not change)."""
        key = (order.ID, order.DespatchDate.isoformat())
        known = self._despatches.get(key)
        if known is not None:
            return known
        shipment = self._read_despatch(order)
        self._despatches[key] = shipment
        while len(self._despatches) > DESPATCH_MEMORY:
            self._despatches.popitem(last=False)
        return shipment

    def _read_despatch(self, order: DespatchedOrderRow) -> Shipment:
        label = f"scend order {order.ID} ({order.OrderNumber})"
        items = order.OrderItems
        if not items:
            items = parse_items(self._call("GET", f"Order/{order.ID}/Items"), label)
        try:
            parcels = parse_parcels(self._call("GET", f"Order/{order.ID}/Shipments"), label)
        except NotFoundError:
            parcels = []  # no parcel rows [I]: the order's own TrackingNumber carries the tracking
        reference = order.OrderNumber
        if order.is_split_part:
            parent_id, parent_number = parent_reference(self._call("GET", f"Order/{order.ID}/Splits"), order.ID)
            if parent_id is not None:
                reference = parent_number or self._order_number(parent_id)
        return to_despatch(order, items, parcels, reference)

    # -- ReturnSource ------------------------------------------------------------------------------
    def returns_since(self, since: datetime) -> Iterator[ReturnNotice | Rejected]:
        """Returns booked in (Confirmed) on each day from `since` to today.

        Card 3.8 [V]: GET Return/SearchByDate?Date= (one day per call), then GET Return/{id} for a return
        listed without its items [I: the listing's row shape], and GET Order/{id}/Items when an item names
        only its product. A return not yet confirmed is left for a later poll; a confirmed one is read once
        per process (it does not change). A row that cannot be mapped comes back as `Rejected`.
        """
        day, today = since.date(), self.clock.now().date()
        while day <= today:
            body = self._call("GET", "Return/SearchByDate", params={"Date": day.isoformat()})
            rows = [] if body is None else body
            if not isinstance(rows, list):
                raise PermanentError(ReasonCode.PAYLOAD_INVALID, "scend Return/SearchByDate: expected a JSON array")
            returned_on = datetime(day.year, day.month, day.day, tzinfo=UTC)
            for raw in rows:
                try:
                    notice = self._return(parse_return(raw, "scend Return/SearchByDate row"), returned_on)
                except PermanentError as error:
                    yield Rejected(
                        row=raw, detail=error.detail, key=str(raw.get("ID", "")) if isinstance(raw, dict) else ""
                    )
                    continue
                if notice is not None:
                    yield notice
            day += timedelta(days=1)

    def _return(self, row: ReturnRow, returned_on: datetime) -> ReturnNotice | None:
        if not row.Confirmed:
            return None
        known = self._returns.get(row.ID)
        if known is not None:
            return known
        if row.ReturnItems is None:
            row = parse_return(self._call("GET", f"Return/{row.ID}"), f"scend return {row.ID}")
        products: dict[str, str] | None = None

        def sku_of_product() -> dict[str, str]:
            nonlocal products
            if products is None:
                label = f"scend order {row.OrderId}"
                products = parse_order_products(self._call("GET", f"Order/{row.OrderId}/Items"), label)
            return products

        notice = to_return_notice(
            row, row.ReturnItems or [], sku_of_product, self.return_actions, returned_on, self.return_actions_setting
        )
        self._returns[row.ID] = notice
        while len(self._returns) > DESPATCH_MEMORY:
            self._returns.popitem(last=False)
        return notice

    def _order_number(self, warehouse_order_id: str) -> str:
        rows = _read(parse_order_rows, self._call("GET", f"Order/{warehouse_order_id}"), "Order/{id}")
        if not rows:
            raise NotFoundError(f"scend order {warehouse_order_id}: empty response")
        return rows[0].OrderNumber

    # -- StockSource (the other side, for drift) and StockTarget ----------------------------------
    def stock_levels(
        self, skus: list[str] | None = None, location: str | None = None, *, fresh_after: datetime | None = None
    ) -> Iterator[StockRow | Rejected]:
        """Physical stock per SKU and warehouse: GET Product/StockLevels?Breakdown=true&PageNo=&Limit=,
        with WarehouseId (and ClientId) when configured; with `skus`, one paged call per distinct SKU
        (SKU=), keeping only rows of exactly that SKU.

        Mapping (card 3.6 [C]): location = WarehouseId, available = Level, on_hand = TotalStockLevel,
        allocated = Total - Level, quarantined / damaged = the Breakdown quantities of those types.
        Paging as the parcel feed: stop on a short page (no totals); a full page of rows already seen
        means PageNo is being ignored, so the read stops. A malformed row is logged and yielded as
        `Rejected`.
        """
        params: dict[str, Any] = {"Breakdown": "true", "Limit": self.page_limit}
        if self.warehouse_id is not None:
            params["WarehouseId"] = self.warehouse_id
        if self.client_id:
            params["ClientId"] = self.client_id
        reads = (
            [self._stock_pages(params, None)]
            if skus is None
            else [
                self._stock_pages({**params, "SKU": sku}, sku)
                for sku in dict.fromkeys(skus)
                if sku and sku.strip()  # an empty SKU filter would list every row
            ]
        )
        for read in reads:
            for row in read:
                if location is None or isinstance(row, Rejected) or row.location == location:
                    yield row

    def _stock_pages(self, params: dict[str, Any], sku: str | None) -> Iterator[StockRow | Rejected]:
        read_at = self.clock.now()
        for row in self._list("Product/StockLevels", params, stock_key_of):
            stock = self._stock_row(row, read_at)
            if isinstance(stock, Rejected) or sku is None or stock.sku == sku:
                yield stock

    def _stock_row(self, row: Any, read_at: datetime) -> StockRow | Rejected:
        try:
            stock = to_stock_row(row, quarantine_types=self.quarantine_types, damaged_types=self.damaged_types)
        except PermanentError as error:
            logger.warning("scend: skipping malformed stock row: %s", error.detail)
            return Rejected(row=row, detail=error.detail, key=str(row.get("SKU", "")) if isinstance(row, dict) else "")
        return stock.model_copy(update={"read_at": read_at})

    # -- StockChangeFeed (the master's high-frequency read) --------------------------------------------
    @property
    def offers_stock_feed(self) -> bool:
        return self.stock_feed_endpoint is not None

    def stock_changed_since(self, since: datetime) -> Iterator[StockRow | Rejected]:
        """Rows whose figures changed since `since`: GET <stock_feed_endpoint>?FromDate= (card 3.6 [V]).

        What card 3.6 states: the feed's path and FromDate [V]; one row shape, the Product/StockLevels row
        (`SKU`, `WarehouseId`, `Level` = free, `TotalStockLevel` = on hand, `Breakdown[{Quantity, Type}]`
        for quarantine), fields [V] and meaning [C], its example row (Level and Breakdown) beside the
        feed. It names no other shape for the feed, so its rows are read as StockLevels rows, one per SKU
        and warehouse, Breakdown=true asked for [I: question 5 to Scend]. PageNo and Limit are sent too (a
        server that ignores paging repeats its rows on page 2, and the listing stops there).

        A row is used as it stands when it carries what the figure needs: its Breakdown list (what is held
        back), or a Level of 0 or less (nothing free, so nothing to hold back: sellable 0 whatever the
        Breakdown). Only a row with free units and no Breakdown is re-read, by its SKU, through
        Product/StockLevels?SKU=&Breakdown=true [V]; a feed that always leaves Breakdown out costs a read
        per listed SKU, never a wrong figure. Rows of other warehouses than the configured one are
        dropped. A 404 or 405 is one EndpointUnavailableError naming `stock_feed_endpoint` (the caller
        falls back to full reads).
        """
        endpoint = self.stock_feed_endpoint
        if endpoint is None:
            raise PermanentError(ReasonCode.ENDPOINT_UNAVAILABLE, f"`{self.stock_feed_setting}` is not set")
        params: dict[str, Any] = {"FromDate": format_since(since), "Breakdown": "true", "Limit": self.page_limit}
        if self.client_id:
            params["ClientId"] = self.client_id
        read_at = self.clock.now()
        reread: list[str] = []
        try:
            for row in self._list(endpoint, params, stock_key_of):
                stock = self._stock_row(row, read_at)
                if isinstance(stock, Rejected):
                    yield stock
                elif self.warehouse_id is not None and stock.location != str(self.warehouse_id):
                    continue
                elif has_breakdown(row) or stock.available <= 0:
                    yield stock
                else:
                    reread.append(stock.sku)
        except PermanentError as error:
            if isinstance(error, NotFoundError) or error.status == 405:
                raise EndpointUnavailableError(
                    target="warehouse",
                    method="GET",
                    path=f"/api/{endpoint}",
                    config_field=self.stock_feed_setting,
                    status=error.status,
                ) from error
            raise
        if reread:
            yield from self.stock_levels(sorted(set(reread)))

    @property
    def accepts_stock_writes(self) -> bool:
        return self.stock_write_endpoint is not None

    def push_stock(self, pushes: list[StockPush]) -> list[RejectedPush]:
        """Set sellable figures: POST <stock_write_endpoint> [I] in batches of `push_batch_size`.

        The card lists no stock write (question 5 to Scend), so the endpoint is the client's config
        (`warehouse.stock_write_endpoint`); a 404 or 405 there is EndpointUnavailableError naming that
        setting, never a retry. Modelled body: an array of {SKU, WarehouseId, Quantity}, answered per row
        with {SKU, WarehouseId, Success, Message} [I]. Figures are absolute, so a batch is safely re-sent
        after any failure (idempotent); the last push for a SKU at a warehouse wins. Rows the warehouse
        refuses come back as RejectedPush and the rest of the batch stands; a location that is not a
        numeric WarehouseId is refused without a call. A whole batch refused (another 4xx) is
        PermanentError(STOCK_PUSH_REJECTED); an answer we cannot match to the rows sent is transient.
        """
        if self.stock_write_endpoint is None:
            raise PermanentError(
                ReasonCode.ENDPOINT_UNAVAILABLE,
                f"no stock write endpoint is configured (`{self.stock_write_setting}`): "
                "this warehouse takes no stock figures",
            )
        rows, rejected = stock_push_body(pushes)
        for start in range(0, len(rows), self.push_batch_size):
            rejected.extend(self._push_batch(rows[start : start + self.push_batch_size]))
        return rejected

    def _push_batch(self, batch: list[dict[str, Any]]) -> list[RejectedPush]:
        endpoint = self.stock_write_endpoint or ""
        try:
            answer = self._call("POST", endpoint, json=batch, idempotent=True)
        except PermanentError as error:
            if isinstance(error, NotFoundError) or error.status == 405:
                raise EndpointUnavailableError(
                    target="warehouse",
                    method="POST",
                    path=f"/api/{endpoint}",
                    config_field=self.stock_write_setting,
                    status=error.status,
                ) from error
            raise PermanentError(
                ReasonCode.STOCK_PUSH_REJECTED,
                f"scend refused a stock batch of {len(batch)} rows: {error.detail}",
                status=error.status,
            ) from error
        try:
            results = parse_stock_push_results(answer)
        except ValueError as exc:
            raise TransientError(f"scend {endpoint}: unreadable answer: {exc}") from exc
        by_key = {(result.SKU, result.WarehouseId): result for result in results}
        rejected: list[RejectedPush] = []
        for row in batch:
            result = by_key.get((row["SKU"], row["WarehouseId"]))
            if result is None:
                raise TransientError(
                    f"scend {endpoint}: no result for SKU {row['SKU']!r} at warehouse "
                    f"{row['WarehouseId']} ({len(results)} results for {len(batch)} rows)"
                )
            if not result.Success:
                message = (result.Message or "").strip() or "Success: false with no message"
                rejected.append(RejectedPush(sku=row["SKU"], location=str(row["WarehouseId"]), message=message))
        return rejected

    # -- helpers -------------------------------------------------------------------------------
    def _must_find_product(self, sku: str, why: str) -> WarehouseProduct:
        existing = self.find_product(sku)
        if existing is None:
            # Search can trail the write by a moment; the redelivered message will find it.
            raise TransientError(f"scend: {why}, but Product/Search does not find SKU {sku!r} yet")
        return existing

    def _must_find(self, client_reference: str, why: str) -> WarehouseOrderRef:
        existing = self.find_order(client_reference)
        if existing is None:
            # Search can trail the write by a moment; the redelivered message will find it.
            raise TransientError(f"scend: {why}, but Order/Search does not find {client_reference} yet")
        return existing


def _product_result(answer: Any, sku: str) -> dict[str, Any]:
    """Product writes answer a ToolkitResult (or a one-element array of them) [I]."""
    row = answer[0] if isinstance(answer, list) and answer else answer
    if not isinstance(row, dict) or "Success" not in row:
        raise TransientError(f"scend product write for {sku!r}: unreadable response {str(answer)[:200]}")
    return row


def _wire_text(value: Any) -> str:
    """A field value as find_product reports it ('' when absent), so create and find agree."""
    return "" if value is None else str(value)


def _ref(row: OrderRow, client_reference: str) -> WarehouseOrderRef:
    status = neutral_status(row.OrderStatusId) if row.OrderStatusId is not None else ""
    return WarehouseOrderRef(
        warehouse_order_id=str(row.ID), client_reference=client_reference, status=status, created=False
    )


def _state(row: OrderRow) -> WarehouseOrderRef:
    """An order's live status with its last change, as the mismatch monitor reads it."""
    try:
        # INFERRED: Mintsoft's LastUpdated as the time of the last status change; zone-less is taken as UTC.
        updated_at = parse_scend_datetime(row.LastUpdated)
    except ValueError:
        updated_at = None
    return _ref(row, row.OrderNumber).model_copy(update={"updated_at": updated_at})


def _result_for(results: list[CreateOrderResult], client_reference: str) -> CreateOrderResult:
    """We send one order, so expect one result; prefer the one naming our reference if there are more."""
    if not results:
        raise TransientError(f"scend PUT Order: empty result array for {client_reference}")
    for result in results:
        if result.OrderNumber == client_reference:
            return result
    return results[0]


def _read(parse: Callable[[Any], T], body: Any, what: str) -> T:
    """Parse a read response; a shape we do not understand will not fix itself on retry."""
    try:
        return parse(body)
    except ValidationError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"scend {what}: unexpected response shape: {exc}") from exc
