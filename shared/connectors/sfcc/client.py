"""Salesforce B2C Commerce (SFCC) as an order source with write-backs, and as a stock and price target.

Orders are pulled: B2C Commerce has no native order webhooks (card §3 [I]). The poll is SCAPI Orders
`GET /orders` with the release filter, sorted by last-modified ascending. SCAPI refuses offset + limit
above 10,000, so the listing is walked in windows on `lastModifiedDateFrom`; statuses are written back
with the Orders API's PUTs and tracking with custom attributes (PATCH takes only c_ attributes).
Inventory and prices go to OCAPI Data with the same Account Manager client-credentials token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from shared.clock import Clock, SystemClock
from shared.connectors.http import (
    ClientCredentials,
    Disposition,
    PlatformHttp,
    RateBudget,
    Rule,
    TokenBucket,
    status_between,
    status_in,
)
from shared.connectors.sfcc.mapping import (
    SOURCE,
    ExportStatus,
    ShippingStatus,
    format_sfcc_datetime,
    inventory_record,
    last_modified,
    loads,
    parse_orders_page,
    price_record,
    to_order,
    tracking_patch,
)
from shared.connectors.sfcc.settings import MAX_ORDERS_WINDOW, SfccSettings
from shared.errors import EndpointUnavailableError, NotFoundError, PermanentError
from shared.models import Order, ReasonCode
from shared.ports import OrderChange
from shared.redaction import module_logger

logger = module_logger(__name__)

INVENTORY_LIST_UNKNOWN = "InventoryListNotFoundException"  # OCAPI Data fault type (card §6)
PRODUCT_UNKNOWN = "no such product"  # the rule for OCAPI's ProductNotFoundException [I], named in its errors


def ocapi_fault_type(response: httpx.Response) -> str:
    """The `fault.type` of an OCAPI error document ({_v, fault{type, message}}); '' for any other body."""
    try:
        body = response.json()
    except ValueError:
        return ""
    fault = body.get("fault") if isinstance(body, dict) else None
    return str(fault.get("type") or "") if isinstance(fault, dict) else ""


RULES: tuple[Rule, ...] = (
    Rule("ok", status_between(200, 299), Disposition.OK),
    Rule("token refused (expired or revoked)", status_in(401), Disposition.AUTH),
    Rule("client lacks the scope or OCAPI permission", status_in(403), Disposition.AUTH),
    # Not a missing record but a missing list: every write to it fails alike, so it is the config's to fix.
    Rule(
        "inventory list unknown",
        lambda r: r.status_code == 404 and ocapi_fault_type(r) == INVENTORY_LIST_UNKNOWN,
        Disposition.PERMANENT,
        ReasonCode.ENDPOINT_UNAVAILABLE,
    ),
    Rule(
        PRODUCT_UNKNOWN,
        lambda r: r.status_code == 404 and ocapi_fault_type(r) == "ProductNotFoundException",
        Disposition.NOT_FOUND,
    ),
    Rule("not found", status_in(404), Disposition.NOT_FOUND),
    # 429 per-family rate limit (with Retry-After); 503 is load shedding (card §2).
    Rule("rate limited", status_in(429), Disposition.RATE_LIMITED),
    Rule("load shedding", status_in(503), Disposition.RATE_LIMITED),
    Rule("resource state conflict", status_in(409), Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
    Rule("timeout or server error", lambda r: r.status_code == 408 or 500 <= r.status_code <= 599, Disposition.RETRY),
    Rule("request refused", status_between(400, 499), Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
    Rule("unexpected status", lambda _r: True, Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
)

TOKEN_RULES: tuple[Rule, ...] = (
    Rule("ok", status_between(200, 299), Disposition.OK),
    # Account Manager: unknown tenant in the scope -> 400 invalid_scope; bad client -> 401 (card §1).
    Rule("client credentials or scope refused", status_in(400, 401, 403), Disposition.AUTH),
    Rule("rate limited", status_in(429, 503), Disposition.RATE_LIMITED),
    Rule("timeout or server error", lambda r: r.status_code == 408 or 500 <= r.status_code <= 599, Disposition.RETRY),
    Rule("unexpected status", lambda _r: True, Disposition.PERMANENT, ReasonCode.SOURCE_REJECTED),
)

LOAD_STATUS_HEADER = "sfdc_load_status"  # WARN at 80 %, THROTTLE at 90 % (card §2)
LOAD_HEADER = "sfdc_load"  # 0-100


@dataclass(frozen=True)
class PolledOrder:
    """One row of the release poll: the raw order (archived by the caller) and its sort key."""

    order_no: str
    last_modified: datetime
    raw: dict[str, Any]

    def order(self) -> Order:
        return to_order(self.raw)


class SfccClient(PlatformHttp):
    """One SFCC site through one Account Manager API client."""

    name = SOURCE

    def __init__(
        self,
        settings: SfccSettings,
        client_id: str,
        client_secret: str,
        *,
        clock: Clock | None = None,
        budget: RateBudget | None = None,
        http: httpx.Client | None = None,
    ):
        self.settings = settings
        clock = clock or SystemClock()
        super().__init__(
            target=SOURCE,
            rules=RULES,
            retry=settings.retry,
            # Account Manager client credentials (card §1): a token of ~30 min, renewed a margin early and
            # after a 401; the token endpoint has its own table.
            auth=ClientCredentials(
                token_url=settings.auth_url,
                client_id=client_id,
                client_secret=client_secret,
                scope=settings.scope,
                refresh_margin_seconds=settings.token_refresh_margin_seconds,
                token_rules=TOKEN_RULES,
            ),
            clock=clock,
            budget=budget or TokenBucket(settings.budget.calls_per_minute, 60.0, clock),
            http=http,
        )
        hooks = self.http.event_hooks
        self.http.event_hooks = {**hooks, "response": [*hooks.get("response", []), self._observe]}
        self.load: int | None = None
        self.load_status: str | None = None
        self.rejected_orders: list[dict[str, Any]] = []

    # -- load shedding -------------------------------------------------------------------------
    def _observe(self, response: httpx.Response) -> None:
        """Every response: slow down when its load headers say the instance is busy; while it is, background
        callers on this site's budget step aside for order work (`RateBudget.shed`)."""
        status = response.headers.get(LOAD_STATUS_HEADER)
        load = response.headers.get(LOAD_HEADER)
        if status is None and load is None:
            self.load_status, self.load = None, None
            return
        self.load_status = status.strip().upper() if status else None
        try:
            self.load = int(load) if load is not None else None
        except ValueError:
            self.load = None
        hint = self.backoff_hint
        if hint:
            logger.info("sfcc load %s (%s): slowing down for %.1f s", self.load_status, self.load, hint)
            self.budget.shed(hint)

    @property
    def backoff_hint(self) -> float:
        """Seconds the caller should wait before its next call, from the last load-shedding headers."""
        match self.load_status:
            case "THROTTLE":
                return self.settings.budget.throttle_backoff_seconds
            case "WARN":
                return self.settings.budget.warn_backoff_seconds
        return 0.0

    # -- calls ---------------------------------------------------------------------------------
    def call_headers(self) -> dict[str, str]:
        return {"correlation-id": str(uuid.uuid4())}

    def _order_url(self, order_no: str, suffix: str = "") -> str:
        if not order_no or not order_no.strip():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "SFCC order number is blank")
        return f"{self.settings.orders_url}/{quote(order_no.strip(), safe='')}{suffix}"

    def _site(self) -> dict[str, str]:
        return {"siteId": self.settings.site_id}

    # -- orders out ----------------------------------------------------------------------------
    def _release_params(self) -> dict[str, Any]:
        release = self.settings.release
        params: dict[str, Any] = {
            **self._site(),
            "status": ",".join(release.status),
            "exportStatus": ",".join(release.export_status),
            "sortBy": "last_modified_date",
            "sortOrder": "asc",
            "limit": self.settings.page_size,
        }
        if release.confirmation_status:
            params["confirmationStatus"] = release.confirmation_status
        if release.payment_status:
            params["paymentStatus"] = ",".join(release.payment_status)
        return params

    def poll_orders(
        self, since: datetime | None = None, *, params: dict[str, Any] | None = None
    ) -> Iterator[PolledOrder]:
        """Orders matching the release filter modified at or after `since`, oldest first, each once.

        Windows: after every full page the lower bound (inclusive) moves up to the last order's
        lastModified and the offset restarts at 0; the orders already read at that instant come back and
        are skipped. So offset + limit stays far below SCAPI's 10,000, and an order that leaves the filter
        mid-poll (exported by the submit step) cannot shift an unread one past the offset. Only a page
        that lies wholly at the lower bound (a run of orders sharing one lastModified) advances the
        offset; a run longer than the cap cannot be paged and is refused. A short page is the end (the
        listing carries no total). Rows without an order number or lastModified are skipped and kept in
        `rejected_orders` for quarantine.
        """
        self.rejected_orders.clear()
        limit = self.settings.page_size
        params = self._release_params() if params is None else params  # another filter (cancellations), same walk
        lower, offset = since, 0
        yielded: dict[str, datetime] = {}
        while True:
            if offset + limit > MAX_ORDERS_WINDOW:
                raise PermanentError(
                    ReasonCode.SOURCE_REJECTED,
                    f"SFCC: more than {MAX_ORDERS_WINDOW - limit} orders share lastModified "
                    f"{format_sfcc_datetime(lower) if lower else '?'}; GET /orders cannot page past offset + "
                    f"limit {MAX_ORDERS_WINDOW} within one instant",
                )
            page_params = {**params, "offset": offset}
            if lower is not None:
                page_params["lastModifiedDateFrom"] = format_sfcc_datetime(lower)
            rows = parse_orders_page(loads(self.send("GET", self.settings.orders_url, params=page_params).content))
            stamps: list[datetime] = []
            for raw in rows:
                try:
                    stamp = last_modified(raw)
                except PermanentError as error:
                    logger.warning("sfcc order row skipped: %s", error.detail)
                    self.rejected_orders.append({"row": raw, "error": error.detail})
                    continue
                stamps.append(stamp)
                number = str(raw["orderNo"])
                if yielded.get(number) == stamp:
                    continue  # read already at this lastModified (the window's lower bound is inclusive)
                yielded[number] = stamp
                yield PolledOrder(number, stamp, raw)
            if len(rows) < limit:
                return
            if not stamps:
                offset += limit
                continue
            newest = stamps[-1]
            if lower is not None and newest == lower:
                offset += limit  # the whole page shares the lower bound: step over it
            else:
                # From the newest instant again, offset 0: the orders read at that instant come back and are
                # skipped, so one that left the filter meanwhile cannot push an unread one past the offset.
                lower, offset = newest, 0

    def orders_changed_since(self, since: datetime) -> Iterator[OrderChange]:
        """The OrderSource view of the release poll: enough to enqueue each ready order."""
        for polled in self.poll_orders(since):
            yield OrderChange(
                source_id=polled.order_no,
                order_number=polled.order_no,
                status=str(polled.raw.get("status") or ""),
                updated_at=polled.last_modified,
            )

    def get_order(self, order_no: str) -> dict[str, Any]:
        """GET /orders/{orderNo}?siteId= as raw JSON (Decimal money), for archiving before mapping."""
        body = loads(self.send("GET", self._order_url(order_no), params=self._site()).content)
        if not isinstance(body, dict) or str(body.get("orderNo")) != order_no.strip():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"SFCC order {order_no}: the response is another order")
        return body

    def read_order(self, source_id: str) -> tuple[Order, dict[str, Any]]:
        raw = self.get_order(source_id)
        return to_order(raw), raw

    def fetch_order(self, source_id: str) -> Order:
        return to_order(self.get_order(source_id))

    # -- write-backs ---------------------------------------------------------------------------
    def _put_status(self, order_no: str, suffix: str, status: str) -> None:
        self.send("PUT", self._order_url(order_no, suffix), params=self._site(), json={"status": status})

    def set_export_status(self, order_no: str, status: ExportStatus) -> None:
        """`exported` once the target holds the order (the claim: it leaves the release filter), `failed` on
        quarantine. `ready` belongs to the site's fraud/payment jobs, so it is not ours to set (card §3)."""
        if status not in ("exported", "failed"):
            raise ValueError(f"export status {status!r} is not ours to set")
        self._put_status(order_no, "/export-status", status)

    def set_shipping_status(self, order_no: str, status: ShippingStatus) -> None:
        """Order-level only; SFCC attaches no behaviour to it (card §5)."""
        if status not in ("part_shipped", "shipped"):
            raise ValueError(f"shipping status {status!r} is not a despatch")
        self._put_status(order_no, "/shipping-status", status)

    def set_tracking(self, order_no: str, tracking_numbers: list[str], carrier: str = "") -> None:
        """Tracking as the configured c_ attributes: shipments[].trackingNumber has no SCAPI write (card §5)."""
        tracking = self.settings.tracking
        body = tracking_patch((tracking.tracking_numbers, tracking.carrier), tracking_numbers, carrier)
        self.send("PATCH", self._order_url(order_no), params=self._site(), json=body)

    def complete_order(self, order_no: str) -> None:
        self._put_status(order_no, "/status", "completed")

    # -- inventory and prices (OCAPI Data) -----------------------------------------------------
    def set_allocation(self, product_id: str, amount: int, reset_date: datetime) -> None:
        """The record's allocation, with reset_date = the master's snapshot time (card §6).

        PATCH updates the record without replacing its other fields (pre-order settings, c_ attributes);
        a product with no record yet (404) is created with PUT. No `_resource_state` is sent: the figure
        is absolute, so the last snapshot should win [I].
        """
        if not product_id or not product_id.strip():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "SFCC product id is blank")
        url = (
            f"{self.settings.data_url}inventory_lists/{quote(self.settings.inventory_list_id, safe='')}"
            f"/product_inventory_records/{quote(product_id.strip(), safe='')}"
        )
        body = inventory_record(amount, reset_date)
        try:
            self.send("PATCH", url, json=body)
        except NotFoundError:
            self.send("PUT", url, json=body)

    def set_price(self, product_id: str, tier: str, currency: str, amount: Decimal) -> None:
        """One price in the price book configured for (tier, currency) [I]: the card has no verified path."""
        endpoint = self.settings.price_book_endpoint
        if endpoint is None:
            raise PermanentError(
                ReasonCode.ENDPOINT_UNAVAILABLE, "SFCC price writes need `price_book_endpoint` in the SFCC settings"
            )
        book = self.settings.price_book_id(tier, currency)
        if book is None:
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"no SFCC price book configured for {tier}/{currency}")
        path = endpoint.format(price_book_id=quote(book, safe=""), product_id=quote(product_id.strip(), safe=""))
        try:
            self.send("PUT", self.settings.data_url + path, json=price_record(amount, currency))
        except NotFoundError as error:
            raise EndpointUnavailableError(
                target="SFCC", method="PUT", path=path, config_field="price_book_endpoint", status=error.status
            ) from None

    def write_allocation(
        self, inventory_list_id: str, product_id: str, amount: int, reset_date: datetime | None
    ) -> None:
        """`set_allocation` on a named inventory list (a stock pipeline maps master locations to lists);
        `reset_date` None sends none, so SFCC resets at the write (`inventory.reset_date: omit`) [I]."""
        if not product_id or not product_id.strip() or not inventory_list_id.strip():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "SFCC product id or inventory list id is blank")
        url = (
            f"{self.settings.data_url}inventory_lists/{quote(inventory_list_id.strip(), safe='')}"
            f"/product_inventory_records/{quote(product_id.strip(), safe='')}"
        )
        body = inventory_record(amount, reset_date or self.clock.now())
        if reset_date is None:
            del body["allocation"]["reset_date"]
        try:
            self.send("PATCH", url, json=body)
        except NotFoundError:
            self.send("PUT", url, json=body)

    def _product_url(self, product_id: str) -> tuple[str, str]:
        endpoint = self.settings.products.endpoint
        if endpoint is None:
            raise PermanentError(
                ReasonCode.ENDPOINT_UNAVAILABLE, "SFCC product writes need `products.endpoint` in the SFCC settings"
            )
        if not product_id or not product_id.strip():
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "SFCC product id is blank")
        path = endpoint.strip("/").format(product_id=quote(product_id.strip(), safe=""))
        return path, self.settings.data_url + path

    def _product_call(self, method: str, product_id: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """One call on the product path [I]: the document, or None for a product SFCC does not hold. Any other
        404, or a 405, means the path is not what the site serves: EndpointUnavailableError naming it."""
        path, url = self._product_url(product_id)
        try:
            response = self.send(method, url, json=body) if body is not None else self.send(method, url)
        except NotFoundError as error:
            if PRODUCT_UNKNOWN in error.detail:
                return None
            raise EndpointUnavailableError(
                target="SFCC", method=method, path=path, config_field="products.endpoint", status=error.status
            ) from None
        except PermanentError as error:
            if error.status == 405:
                raise EndpointUnavailableError(
                    target="SFCC", method=method, path=path, config_field="products.endpoint", status=405
                ) from None
            raise
        document = loads(response.content) if response.content else {}
        return document if isinstance(document, dict) else {}

    def get_product(self, product_id: str) -> dict[str, Any] | None:
        return self._product_call("GET", product_id)

    def put_product(self, product_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._product_call("PUT", product_id, body) or {}

    def patch_product(self, product_id: str, body: dict[str, Any]) -> None:
        if self._product_call("PATCH", product_id, body) is None:
            raise PermanentError(ReasonCode.SOURCE_NOT_FOUND, f"SFCC holds no product {product_id!r} to update")
