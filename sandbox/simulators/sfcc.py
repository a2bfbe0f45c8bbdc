"""SFCC (B2C Commerce) simulator: Account Manager token, SCAPI Orders, OCAPI Data inventory, on virtual time.

Built from the platform card (../shared/platforms/sfcc.md) and the official Orders API spec kept in
tests/contracts/sfcc/ (orders-oas-1.5.2):
- `POST /dwsso/oauth2/access_token`: client credentials over HTTP Basic, `scope` must name
  `SALESFORCE_COMMERCE_API:{tenant}` (else 400 `invalid_scope`); tokens live `token_lifetime_seconds`
  (1799 seen, card §1) of the simulation clock, and `revoke_tokens()` makes every issued token answer 401.
- SCAPI Orders: `GET /orders` with the spec's filters, `sortBy`/`sortOrder`, `limit` 1-200 and `offset`,
  refusing offset + limit > 10,000 with an RFC 7807 problem (card §2); `GET/PATCH /orders/{no}` (PATCH
  takes c_ attributes only, card §5) and the status PUTs (`export-status`, `shipping-status`, `status`
  with the spec's transition rules, `external-status`), each answering 204 and moving `lastModified`.
- Load shedding (card §2): set `load` (0-100) and every SCAPI/OCAPI response carries `sfdc_load` and
  `sfdc_load_status` (WARN from 80, THROTTLE from 90); `shedding = True` answers 503 as a saturated
  instance does.
- OCAPI Data product inventory records (card §6: paths and fields [V]): PUT creates or replaces, PATCH
  updates (404 when there is none), GET reads. `ats` = allocation - turnover, where turnover counts the
  units of the simulated orders placed at or after the allocation's `reset_date` [I]. With a catalogue
  (`products`, or `add_product`), a record for a product the site does not hold is refused 404
  `ProductNotFoundException` [I]; without one every product id is taken (the card does not say).
- Price books [I]: served only behind `price_book_endpoint`, the switch the client's settings name.
- Products [I]: GET / PUT (create or replace) / PATCH one product document, served only behind
  `product_endpoint` (the client's `products.endpoint`); an unknown id is 404 `ProductNotFoundException`.
- Scenario helpers (plain Python): `cancel_order` is a cancel in Business Manager; `refuse_export_status`
  makes an order's next export-status writes answer 503, as a shedding instance would; `listed_at` keeps
  when each order came back from a listing that filtered on export status (the release poll), and
  `release_listings` when each such listing was made; `available_to_sell` is every record's ATS of one
  list in one pass over the orders; `product_created_at`, `record_first_written_at` and `price_writes` say
  when the catalogue, stock and price writes landed.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from sandbox.simulators.base import FaultPlan, Request, Response, Simulator
from shared.clock import Clock
from shared.connectors.sfcc.mapping import format_sfcc_datetime

ORDERS = r"/checkout/orders/v1/organizations/(?P<org>[^/]+)/orders"
DATA = r"/s/-/dw/data/v23_2"
TOKEN_PATH = "/dwsso/oauth2/access_token"
MAX_WINDOW = 10_000
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # the one format dates are stored in
NO_CONTENT = Response(204, raw=b"")
ORDER_STATUSES = ("created", "new", "completed", "cancelled", "failed")
EXPORT_STATUSES = ("exported", "not_exported", "ready", "failed")
SHIPPING_STATUSES = ("shipped", "part_shipped", "not_shipped")
PAYMENT_STATUSES = ("paid", "part_paid", "not_paid")
CONFIRMATION_STATUSES = ("confirmed", "not_confirmed")
# The spec's updateOrderStatus: which status an order may move to from each status.
TRANSITIONS: dict[str, set[str]] = {
    "created": {"new", "completed", "cancelled", "failed", "failed_with_reopen"},
    "failed": {"created"},
    "new": {"completed", "cancelled"},
    "completed": {"new", "cancelled"},
    "cancelled": {"new", "completed"},
}


def problem(status: int, title: str, detail: str, kind: str) -> Response:
    """RFC 7807 problem detail, the SCAPI error format (card §2); the type URI is constructed [I]."""
    return Response(
        status,
        {
            "type": f"https://api.commercecloud.salesforce.com/documentation/error/v1/errors/{kind}",
            "title": title,
            "detail": detail,
        },
    )


def fault(status: int, kind: str, message: str) -> Response:
    """OCAPI's error document: {_v, fault{type, message}}."""
    return Response(status, {"_v": "23.2", "fault": {"type": kind, "message": message}})


def sample_order(
    order_no: str,
    last_modified: datetime,
    *,
    currency: str = "GBP",
    taxation: str = "gross",
    status: str = "new",
    export_status: str = "ready",
    confirmation_status: str = "confirmed",
    payment_status: str = "paid",
    product_id: str = "701643632930",
    quantity: int = 2,
    site_id: str = "RefArch",
) -> dict[str, Any]:
    """The card's example order (§9), reshaped per call; money as JSON numbers in major units."""
    stamp = format_sfcc_datetime(last_modified)
    return {
        "orderNo": order_no,
        "siteId": site_id,
        "currency": currency,
        "taxation": taxation,
        "status": status,
        "exportStatus": export_status,
        "confirmationStatus": confirmation_status,
        "paymentStatus": payment_status,
        "shippingStatus": "not_shipped",
        "creationDate": stamp,
        "placeDate": stamp,
        "lastModified": stamp,
        "customerInfo": {"email": "ann.lee@example.com"},
        "productItems": [
            {
                "itemId": f"{order_no}-1",
                "productId": product_id,
                "productName": "Flat Front Pant",
                "quantity": quantity,
                "shipmentId": "me",
                "basePrice": 50.0,
                "priceAfterItemDiscount": 100.0,
                "priceAfterOrderDiscount": 90.0,
                "tax": 16.67,
                "adjustedTax": 15.0,
                "taxRate": 0.2,
            }
        ],
        "orderPriceAdjustments": [
            {"promotionId": "ten-off", "grossPrice": -10.0, "netPrice": -8.33, "basePrice": -10.0}
        ],
        "shipments": [
            {
                "shipmentId": "me",
                "shipmentNo": "00000001",
                "shippingMethod": {"id": "UK-STD"},
                "shippingStatus": "not_shipped",
                "shippingAddress": {
                    "firstName": "Ann",
                    "lastName": "Lee",
                    "address1": "1 High St",
                    "city": "Leeds",
                    "postalCode": "LS1 1AA",
                    "countryCode": "GB",
                },
            }
        ],
        "shippingItems": [
            {
                "itemId": f"{order_no}-s",
                "shipmentId": "me",
                "type": "fixed_price",
                "basePrice": 4.99,
                "tax": 0.83,
                "adjustedTax": 0.83,
                "taxRate": 0.2,
            }
        ],
        "productSubTotal": 100.0,
        "productTotal": 90.0,
        "shippingTotal": 4.99,
        "shippingTotalTax": 0.83,
        "taxTotal": 15.83,
        "orderTotal": 94.99,
    }


class SfccSimulator(Simulator):
    name = "sfcc"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        organization_id: str = "f_ecom_zzxy_prd",
        site_id: str = "RefArch",
        inventory_list_ids: tuple[str, ...] = ("inventory_m",),
        token_lifetime_seconds: int = 1799,
        price_book_endpoint: str | None = None,
        products: set[str] | None = None,
        product_endpoint: str | None = None,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
    ):
        super().__init__(clock=clock, faults=faults)
        self.client_id, self.client_secret = client_id, client_secret
        self.organization_id, self.site_id = organization_id, site_id
        self.tenant = organization_id.removeprefix("f_ecom_")
        self.inventory_list_ids = set(inventory_list_ids)
        self.token_lifetime_seconds = token_lifetime_seconds
        self.tokens: dict[str, datetime] = {}
        self.tokens_issued = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.inventory: dict[tuple[str, str], dict[str, Any]] = {}
        self.products: set[str] | None = None if products is None else set(products)
        self.record_writes: list[tuple[str, str, str]] = []  # (method, list, product) of every record write
        self.prices: dict[tuple[str, str], dict[str, Any]] = {}
        self.price_writes: list[tuple[str, str, Decimal]] = []  # (price book, product, amount) of every write
        self.record_first_written_at: dict[tuple[str, str], datetime] = {}  # (list, product) -> first write
        self.product_created_at: dict[str, datetime] = {}  # product id -> when a PUT created it
        self.release_listings: list[datetime] = []  # when each listing filtered on export status was made
        self.load: int | None = None
        self.shedding = False
        self.listings: list[dict[str, str]] = []  # the query of every GET /orders, for assertions
        self.listed_at: dict[str, list[datetime]] = {}  # orderNo -> when a release listing returned it
        self._refuse_export: dict[str, int] = {}  # orderNo -> export-status writes still to refuse
        self.export_status_refused = 0
        self.route("POST", TOKEN_PATH, self._token, writes=True)
        self.route("GET", ORDERS, self._list_orders)
        self.route("GET", ORDERS + r"/(?P<no>[^/]+)", self._get_order)
        self.route("PATCH", ORDERS + r"/(?P<no>[^/]+)", self._patch_order, writes=True)
        for suffix, handler in (
            ("export-status", self._export_status),
            ("shipping-status", self._shipping_status),
            ("status", self._status),
            ("external-status", self._external_status),
        ):
            self.route("PUT", ORDERS + rf"/(?P<no>[^/]+)/{suffix}", handler, writes=True)
        record = DATA + r"/inventory_lists/(?P<list>[^/]+)/product_inventory_records/(?P<product>[^/]+)"
        self.route("GET", record, self._get_record)
        self.route("PUT", record, self._put_record, writes=True)
        self.route("PATCH", record, self._patch_record, writes=True)
        self._price_book_endpoint: str | None = None
        self.price_book_endpoint = price_book_endpoint
        self.product_documents: dict[str, dict[str, Any]] = {}
        self.product_writes: list[tuple[str, str, dict[str, Any]]] = []  # (method, id, body) of every write
        self._product_endpoint: str | None = None
        self.product_endpoint = product_endpoint

    @property
    def product_endpoint(self) -> str | None:
        """The inferred product path this instance serves (with {product_id}), or None: the switch."""
        return self._product_endpoint

    @product_endpoint.setter
    def product_endpoint(self, endpoint: str | None) -> None:
        handlers = (self._get_product, self._put_product, self._patch_product)
        with self.lock:
            self.routes = [route for route in self.routes if route[2] not in handlers]
            self._product_endpoint = endpoint.strip("/") if endpoint else None
            if self._product_endpoint is not None:
                pattern = re.escape(self._product_endpoint).replace(re.escape("{product_id}"), "(?P<product_id>[^/]+)")
                self.route("GET", f"{DATA}/{pattern}", self._get_product)
                self.route("PUT", f"{DATA}/{pattern}", self._put_product, writes=True)
                self.route("PATCH", f"{DATA}/{pattern}", self._patch_product, writes=True)

    @property
    def price_book_endpoint(self) -> str | None:
        """The inferred price write this instance serves (an OCAPI Data path template), or None: the switch."""
        return self._price_book_endpoint

    @price_book_endpoint.setter
    def price_book_endpoint(self, endpoint: str | None) -> None:
        with self.lock:
            self.routes = [route for route in self.routes if route[2] != self._put_price]
            self._price_book_endpoint = endpoint.strip("/") if endpoint else None
            if self._price_book_endpoint is not None:
                parts = re.split(r"\{([^}/]+)\}", self._price_book_endpoint)
                pattern = "".join(
                    re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts)
                )
                self.route("PUT", f"{DATA}/{pattern}", self._put_price, writes=True)

    # -- seeding -------------------------------------------------------------------------------
    def add_order(self, order: dict[str, Any]) -> None:
        """Seed an order; its dates are normalised to the listing's one format (milliseconds, Z)."""
        stored = dict(order)
        stored.setdefault("siteId", self.site_id)
        for name in ("creationDate", "lastModified"):
            value = str(stored.get(name) or stored.get("lastModified"))
            stored[name] = value if STAMP.fullmatch(value) else format_sfcc_datetime(_parse(value))
        with self.lock:
            self.orders[stored["orderNo"]] = stored

    def add_product(self, product_id: str) -> None:
        """Put a product in the site's catalogue (from then on, records of unknown products are refused)."""
        with self.lock:
            self.products = (self.products or set()) | {product_id}

    def cancel_order(self, order_no: str) -> None:
        """A cancel in Business Manager (or by the shopper): status cancelled, lastModified now."""
        with self.lock:
            order = self.orders[order_no]
            order["status"] = "cancelled"
            self._touch(order)

    def refuse_export_status(self, order_no: str, times: int) -> None:
        """The order's next `times` export-status writes answer 503 (load shedding): the claim fails."""
        with self.lock:
            self._refuse_export[order_no] = self._refuse_export.get(order_no, 0) + times

    def revoke_tokens(self) -> None:
        """Every token issued so far answers 401 from now on (a rotated client secret, a revoked session)."""
        with self.lock:
            self.tokens.clear()

    # -- platform behaviour --------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        if request.path == TOKEN_PATH:
            return None
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None or self.clock.now() >= expires:
            if request.path.startswith("/s/"):
                return fault(401, "InvalidAccessTokenException", "The access token is invalid or has expired.")
            return problem(401, "Unauthorized", "The access token is invalid or has expired.", "unauthorized")
        return None

    def throttled_response(self, request: Request) -> Response:
        limited = problem(
            429, "Too Many Requests", "The rate limit for this API family was exceeded.", "too-many-requests"
        )
        return Response(429, limited.body, {"Retry-After": "1"})

    def before_request(self, request: Request) -> Response | None:
        if self.shedding and request.path != TOKEN_PATH:
            return self._with_load(
                problem(503, "Service Unavailable", "The instance is shedding load.", "service-unavailable")
            )
        return None

    def dispatch(self, request: Request) -> tuple[Response | None, float]:
        response, delay = super().dispatch(request)
        if response is not None and request.path != TOKEN_PATH:
            response = self._with_load(response)
        return response, delay

    def _with_load(self, response: Response) -> Response:
        load = 100 if self.shedding else self.load
        if load is None:
            return response
        status = "THROTTLE" if load >= 90 else "WARN" if load >= 80 else "OK"  # OK below 80 [I]
        headers = {**response.headers, "sfdc_load": str(load), "sfdc_load_status": status}
        return Response(response.status, response.body, headers, response.raw)

    # -- token ---------------------------------------------------------------------------------
    def _token(self, request: Request, _match: re.Match[str]) -> Response:
        form = {key: values[-1] for key, values in parse_qs(request.raw.decode("utf-8", "replace")).items()}
        try:
            scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            scheme, client_id, secret = "", "", ""
        if scheme != "Basic" or (client_id, secret) != (self.client_id, self.client_secret):
            return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type"})
        scopes = form.get("scope", "").split()
        if f"SALESFORCE_COMMERCE_API:{self.tenant}" not in scopes:
            return Response(400, {"error": "invalid_scope", "error_description": "Unknown tenant in scope"})
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock.now() + timedelta(seconds=self.token_lifetime_seconds)
        self.tokens_issued += 1
        return Response(
            200,
            {
                "access_token": token,
                "scope": " ".join(scopes),
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_seconds,
            },
        )

    # -- SCAPI Orders --------------------------------------------------------------------------
    def _site_problem(self, request: Request, match: re.Match[str]) -> Response | None:
        if match.group("org") != self.organization_id:
            return problem(404, "Not Found", f"Unknown organization {match.group('org')}", "not-found")
        site = request.query.get("siteId")
        if not site:
            return problem(400, "Bad Request", "The query parameter siteId is required.", "missing-query-parameter")
        if site != self.site_id:
            return problem(404, "Site Not Found", f"The site {site!r} does not exist.", "site-not-found")
        return None

    def _list_orders(self, request: Request, match: re.Match[str]) -> Response:
        refused = self._site_problem(request, match)
        if refused:
            return refused
        query = request.query
        self.listings.append(dict(query))
        try:
            limit = int(query.get("limit", "100"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            return problem(400, "Bad Request", "limit and offset must be integers.", "invalid-query-parameter")
        if not 1 <= limit <= 200 or offset < 0:
            return problem(400, "Bad Request", "limit must be 1-200 and offset >= 0.", "invalid-query-parameter")
        if offset + limit > MAX_WINDOW:
            return problem(
                400,
                "Bad Request",
                f"The sum of offset and limit cannot be greater than {MAX_WINDOW}.",
                "invalid-query-parameter",
            )
        filters: list[tuple[str, tuple[str, ...], int]] = [
            ("status", ORDER_STATUSES, 2),
            ("exportStatus", EXPORT_STATUSES, 3),
            ("paymentStatus", PAYMENT_STATUSES, 3),
            ("shippingStatus", SHIPPING_STATUSES, 3),
            ("confirmationStatus", CONFIRMATION_STATUSES, 1),
        ]
        wanted: dict[str, set[str]] = {}
        for name, allowed, most in filters:
            if name in query:
                values = [value for value in query[name].split(",") if value]
                if not values or len(values) > most or not set(values) <= set(allowed):
                    return problem(
                        400, "Bad Request", f"Invalid value for {name}: {query[name]!r}.", "invalid-query-parameter"
                    )
                wanted[name] = set(values)
        bounds: dict[str, str] = {}
        for name in ("lastModifiedDateFrom", "lastModifiedDateTo", "creationDateFrom", "creationDateTo"):
            if name in query:
                try:
                    bounds[name] = format_sfcc_datetime(_parse(query[name]))
                except ValueError:
                    return problem(400, "Bad Request", f"{name} is not a date-time.", "invalid-query-parameter")
        sort_by = query.get("sortBy", "creation_date")
        sort_order = query.get("sortOrder", "desc")
        if sort_by not in ("creation_date", "last_modified_date") or sort_order not in ("asc", "desc"):
            return problem(400, "Bad Request", "Invalid sortBy or sortOrder.", "invalid-query-parameter")
        field = {"creation_date": "creationDate", "last_modified_date": "lastModified"}[sort_by]
        # Dates are stored in one fixed format (add_order, _touch), so comparing the strings compares the instants.
        checks = [*wanted.items(), ("siteId", {self.site_id})]
        low_modified, high_modified = bounds.get("lastModifiedDateFrom"), bounds.get("lastModifiedDateTo")
        low_created, high_created = bounds.get("creationDateFrom"), bounds.get("creationDateTo")
        matching = list(self.orders.values())
        for key, accepted in checks:
            matching = [order for order in matching if order.get(key) in accepted]
        for name, low, high in (
            ("lastModified", low_modified, high_modified),
            ("creationDate", low_created, high_created),
        ):
            if low is not None:
                matching = [order for order in matching if order[name] >= low]
            if high is not None:
                matching = [order for order in matching if order[name] < high]
        # Ties keep the order the orders were added in (stable sort), like a database index on (date, id).
        matching.sort(key=lambda order: order[field], reverse=sort_order == "desc")
        page = matching[offset : offset + limit]
        if "exportStatus" in wanted:
            self.release_listings.append(self.clock.now())
            for order in page:
                self.listed_at.setdefault(order["orderNo"], []).append(self.clock.now())
        # Shallow copies: handlers only ever replace an order's top-level fields.
        return Response(200, {"data": [dict(order) for order in page]})

    def _order(self, request: Request, match: re.Match[str]) -> tuple[dict[str, Any] | None, Response | None]:
        refused = self._site_problem(request, match)
        if refused:
            return None, refused
        order = self.orders.get(match.group("no"))
        if order is None:
            return None, problem(
                404, "Order Not Found", f"No order with number {match.group('no')}.", "order-not-found"
            )
        return order, None

    def _touch(self, order: dict[str, Any]) -> None:
        order["lastModified"] = format_sfcc_datetime(self.clock.now())

    def _get_order(self, request: Request, match: re.Match[str]) -> Response:
        order, refused = self._order(request, match)
        return refused or Response(200, dict(order) if order else None)

    def _patch_order(self, request: Request, match: re.Match[str]) -> Response:
        order, refused = self._order(request, match)
        if refused or order is None:
            return refused or problem(500, "Error", "no order", "internal")
        body = request.body
        if not isinstance(body, dict) or not body or any(not key.startswith("c_") for key in body):
            return problem(
                400, "Bad Request", "Only custom attributes (c_ prefix) can be updated.", "invalid-request-body"
            )
        order.update(body)
        self._touch(order)
        return NO_CONTENT

    def _set_field(self, request: Request, match: re.Match[str], field: str, allowed: tuple[str, ...]) -> Response:
        order, refused = self._order(request, match)
        if refused or order is None:
            return refused or problem(500, "Error", "no order", "internal")
        status = request.body.get("status") if isinstance(request.body, dict) else None
        if status not in allowed or set(request.body) != {"status"}:
            return problem(400, "Bad Request", f"Invalid {field}: {status!r}.", "invalid-request-body")
        order[field] = status
        self._touch(order)
        return NO_CONTENT

    def _export_status(self, request: Request, match: re.Match[str]) -> Response:
        number = match.group("no")
        if self._refuse_export.get(number, 0) > 0:
            self._refuse_export[number] -= 1
            self.export_status_refused += 1
            return problem(503, "Service Unavailable", "The instance is shedding load.", "service-unavailable")
        return self._set_field(request, match, "exportStatus", EXPORT_STATUSES)

    def _shipping_status(self, request: Request, match: re.Match[str]) -> Response:
        return self._set_field(request, match, "shippingStatus", SHIPPING_STATUSES)

    def _external_status(self, request: Request, match: re.Match[str]) -> Response:
        order, refused = self._order(request, match)
        if refused or order is None:
            return refused or problem(500, "Error", "no order", "internal")
        status = request.body.get("status") if isinstance(request.body, dict) else None
        if not isinstance(status, str) or not 1 <= len(status) <= 256:
            return problem(400, "Bad Request", "status must be 1-256 characters.", "invalid-request-body")
        order["externalOrderStatus"] = status
        self._touch(order)
        return NO_CONTENT

    def _status(self, request: Request, match: re.Match[str]) -> Response:
        order, refused = self._order(request, match)
        if refused or order is None:
            return refused or problem(500, "Error", "no order", "internal")
        status = request.body.get("status") if isinstance(request.body, dict) else None
        if status not in TRANSITIONS.get(order["status"], set()):
            return problem(
                400,
                "Bad Request",
                f"An order in status {order['status']} cannot change to {status!r}.",
                "invalid-status-transition",
            )
        order["status"] = "failed" if status == "failed_with_reopen" else status
        self._touch(order)
        return NO_CONTENT

    # -- OCAPI Data inventory (paths [V]; turnover from the simulated orders [I]) ---------------
    def _record_key(self, match: re.Match[str]) -> tuple[tuple[str, str] | None, Response | None]:
        if match.group("list") not in self.inventory_list_ids:
            return None, fault(
                404, "InventoryListNotFoundException", f"No inventory list with ID '{match.group('list')}'."
            )
        return (match.group("list"), match.group("product")), None

    def _turnover(self, product_id: str, since: datetime) -> int:
        units = 0
        for order in self.orders.values():
            if order.get("status") in ("created", "failed", "cancelled"):
                continue
            if _parse(order.get("placeDate") or order["creationDate"]) < since:
                continue
            units += sum(
                int(item.get("quantity", 0))
                for item in order.get("productItems", ())
                if item.get("productId") == product_id
            )
        return units

    def inventory_document(self, list_id: str, product_id: str) -> dict[str, Any]:
        """The record as GET answers it: allocation as written, turnover and ATS from the orders [I]."""
        key = (list_id, product_id)
        record = self.inventory[key]
        allocation = record["allocation"]
        turnover = self._turnover(key[1], _parse(allocation["reset_date"]))
        return {
            "_v": "23.2",
            "_type": "product_inventory_record",
            "_resource_state": record["_resource_state"],
            "product_id": key[1],
            "allocation": dict(allocation),
            "inventory_turnover": turnover,
            "stock_level": allocation["amount"] - turnover,
            "ats": max(0, allocation["amount"] - turnover),
            "perpetual_flag": record.get("perpetual_flag", False),
        }

    def available_to_sell(self, list_id: str) -> dict[str, int]:
        """Every record's ATS in `list_id` as GET would answer it, in one pass over the orders (the
        scenario's check points look at every SKU often)."""
        with self.lock:
            resets = {
                product: _parse(record["allocation"]["reset_date"])
                for (listed, product), record in self.inventory.items()
                if listed == list_id
            }
            turnover = dict.fromkeys(resets, 0)
            for order in self.orders.values():
                if order.get("status") in ("created", "failed", "cancelled"):
                    continue
                placed = _parse(order.get("placeDate") or order["creationDate"])
                for item in order.get("productItems", ()):
                    product = item.get("productId")
                    if product in resets and placed >= resets[product]:
                        turnover[product] += int(item.get("quantity", 0))
            return {
                product: max(0, self.inventory[(list_id, product)]["allocation"]["amount"] - turnover[product])
                for product in resets
            }

    def _validate_record(self, request: Request, key: tuple[str, str]) -> tuple[dict[str, Any] | None, Response | None]:
        body = request.body
        if not isinstance(body, dict):
            return None, fault(400, "MalformedDocumentException", "The request body is not a JSON document.")
        state = body.get("_resource_state")
        current = self.inventory.get(key, {}).get("_resource_state")
        if state is not None and state != current:
            return None, fault(409, "ResourceStateConflictException", "The resource state does not match.")
        allocation = body.get("allocation")
        if allocation is not None:
            amount = allocation.get("amount") if isinstance(allocation, dict) else None
            if not isinstance(amount, int | float) or amount < 0:
                return None, fault(400, "InvalidDocumentException", "allocation.amount must be a number >= 0.")
            try:
                _parse(str(allocation.get("reset_date") or format_sfcc_datetime(self.clock.now())))
            except ValueError:
                return None, fault(400, "InvalidDocumentException", "allocation.reset_date is not a date-time.")
        return body, None

    def _store_record(self, key: tuple[str, str], body: dict[str, Any], *, replace: bool) -> None:
        record = {} if replace else dict(self.inventory[key])
        for field, value in body.items():
            if field.startswith("_"):
                continue
            if field == "allocation":
                value = {
                    "amount": value["amount"],
                    "reset_date": value.get("reset_date") or format_sfcc_datetime(self.clock.now()),
                }
            record[field] = value
        record.setdefault("allocation", {"amount": 0, "reset_date": format_sfcc_datetime(self.clock.now())})
        record["_resource_state"] = secrets.token_hex(8)
        self.inventory[key] = record

    def _get_record(self, request: Request, match: re.Match[str]) -> Response:
        key, refused = self._record_key(match)
        if refused or key is None:
            return refused or fault(500, "InternalServerError", "no key")
        if key not in self.inventory:
            return fault(404, "NotFoundException", f"No inventory record for product '{key[1]}'.")
        return Response(200, self.inventory_document(*key))

    def _put_record(self, request: Request, match: re.Match[str]) -> Response:
        key, refused = self._record_key(match)
        if refused or key is None:
            return refused or fault(500, "InternalServerError", "no key")
        body, invalid = self._validate_record(request, key)
        if invalid or body is None:
            return invalid or fault(500, "InternalServerError", "no body")
        if self.products is not None and key[1] not in self.products:
            return fault(404, "ProductNotFoundException", f"No product with ID '{key[1]}'.")
        self.record_writes.append(("PUT", *key))
        self.record_first_written_at.setdefault(key, self.clock.now())
        created = key not in self.inventory
        self._store_record(key, body, replace=True)
        return Response(201 if created else 200, self.inventory_document(*key))

    def _patch_record(self, request: Request, match: re.Match[str]) -> Response:
        key, refused = self._record_key(match)
        if refused or key is None:
            return refused or fault(500, "InternalServerError", "no key")
        if key not in self.inventory:
            return fault(404, "NotFoundException", f"No inventory record for product '{key[1]}'.")
        body, invalid = self._validate_record(request, key)
        if invalid or body is None:
            return invalid or fault(500, "InternalServerError", "no body")
        self.record_writes.append(("PATCH", *key))
        self._store_record(key, body, replace=False)
        return Response(200, self.inventory_document(*key))

    # -- products [I] --------------------------------------------------------------------------
    def _product_document(self, product_id: str) -> Response:
        return Response(200, {"_v": "23.2", "_type": "product", "id": product_id, **self.product_documents[product_id]})

    def _get_product(self, request: Request, match: re.Match[str]) -> Response:
        product_id = match.group("product_id")
        if product_id not in self.product_documents:
            return fault(404, "ProductNotFoundException", f"No product with ID '{product_id}'.")
        return self._product_document(product_id)

    def _product_body(self, request: Request) -> dict[str, Any] | None:
        body = request.body
        if not isinstance(body, dict):
            return None
        return {name: value for name, value in body.items() if not name.startswith("_")}

    def _put_product(self, request: Request, match: re.Match[str]) -> Response:
        product_id, body = match.group("product_id"), self._product_body(request)
        if body is None:
            return fault(400, "MalformedDocumentException", "The request body is not a JSON document.")
        self.product_writes.append(("PUT", product_id, dict(body)))
        created = product_id not in self.product_documents
        if created:
            self.product_created_at[product_id] = self.clock.now()
        self.product_documents[product_id] = body
        if self.products is not None:
            self.products.add(product_id)
        response = self._product_document(product_id)
        return Response(201 if created else 200, response.body)

    def _patch_product(self, request: Request, match: re.Match[str]) -> Response:
        product_id, body = match.group("product_id"), self._product_body(request)
        if product_id not in self.product_documents:
            return fault(404, "ProductNotFoundException", f"No product with ID '{product_id}'.")
        if body is None:
            return fault(400, "MalformedDocumentException", "The request body is not a JSON document.")
        self.product_writes.append(("PATCH", product_id, dict(body)))
        self.product_documents[product_id].update(body)
        return self._product_document(product_id)

    # -- price books [I] -----------------------------------------------------------------------
    def _put_price(self, request: Request, match: re.Match[str]) -> Response:
        groups = match.groupdict()
        body = request.body
        amount = body.get("amount") if isinstance(body, dict) else None
        if not isinstance(amount, int | float) or amount < 0:
            return fault(400, "InvalidDocumentException", "amount must be a number >= 0.")
        key = (groups.get("price_book_id", ""), groups.get("product_id", ""))
        self.prices[key] = {"amount": Decimal(str(amount)), "currency": body.get("currency_mnemonic")}
        self.price_writes.append((*key, Decimal(str(amount))))
        return Response(200, {"_v": "23.2", "product_id": key[1], "amount": amount})


@lru_cache(maxsize=1 << 16)
def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
