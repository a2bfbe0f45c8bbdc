"""Scend 3PL simulator: the Mintsoft-shaped API of the Scend card, on virtual time.

It serves what the card (../shared/platforms/scend.md) marks verified, and an inferred endpoint only
behind a switch the connector's config names. Like Mintsoft it answers order creation with HTTP 200
and a result array whose `Success` says what happened, sits behind a Cloudflare-style throttle (429,
`Retry-After: 0`, HTML), and moves orders through the warehouse statuses as virtual time passes,
computed lazily from the clock whenever an order is read. Whether a repeated OrderNumber is refused is
not documented, so by default it is accepted (`enforce_unique_reference` refuses it).

Despatch (card 3.5): an order reaching Despatched (4) in its timetable gets DespatchDate, TrackingNumber,
TrackingURL and NumberOfParcels, and its parcels are listed by GET /api/Order/{id}/Shipments as rows of
ID, OrderId, ParcelNo, TrackingNumber, CourierType and ShipmentDate (no OrderNumber, no items: the order
carries those). The despatch poll lists GET /api/Order/List?OrderStatusId=4&SinceDespatchDate=
&IncludeOrderItems=true (DespatchDate at or after the date [I], ordered by ID [I], PageNo/Limit up to
100, no totals). Part despatch surfaces as a split [I]: with `split_rate` a share of orders (those
with 2+ units) are split when they despatch: the order keeps the lines before the split line and part
of it (Part 1 of 2) and leaves at once; a new order `<OrderNumber>-2` (Part 2 of 2, Awaiting replen)
takes the rest and leaves `late_parcel_hours` later. GET /api/Order/{id}/Splits names the pair. With
`multi_tracking_rate` a share of despatches leave as two parcels. Tracking numbers look like the
carrier's (Royal Mail S10 "JB123456785GB" with its check digit, DPD 14 digits). Choices are drawn from a
RNG seeded by (`seed`, order id), so an order ships the same way whenever it is first read.

Cancel (card 3.4): accepted only in the statuses the card's rule lets us cancel in
({1, 7, 9, 10, 11, 12, 15, 21}, `cancellable_statuses`), refused with `Success: false` otherwise.
"""

from __future__ import annotations

import copy
import random
import re
import threading
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.simulators.base import FaultKind, FaultPlan, Request, Response, Simulator
from shared.clock import Clock

# Mintsoft status ids and names (GET /api/Order/Statuses as captured by a public integration; names [I]).
STATUS_NAMES: dict[int, str] = {
    1: "NEW",
    2: "PRINTED",
    3: "CANCELLED",
    4: "DESPATCHED",
    5: "INVOICED",
    6: "INVOICE FAILED",
    7: "HOLDING",
    8: "FAILED",
    9: "ON BACK ORDER",
    10: "AWAITING CONFIRMATION",
    11: "AWAITING DOCUMENTATION",
    12: "AWAITING PAYMENT",
    13: "QUERY RAISED",
    14: "PACK AND HOLD",
    15: "AWAITING PICKING",
    16: "PICKING STARTED",
    17: "PICKED",
    18: "FRAUD RISK",
    19: "PICKING SKIPPED",
    20: "PACKED",
    21: "AWAITING REPLEN",
    22: "PROCESSING",
    23: "REBINNED",
}

NEW = 1
CANCELLED = 3
DESPATCHED = 4
AWAITING_REPLEN = 21  # shown by the split-off part of an order until it leaves [I]
# Card 3.4: "auto-cancel only in {1, 7, 9, 10, 11, 12, 15, 21}": the warehouse refuses the rest.
CANCELLABLE_STATUSES = frozenset({1, 7, 9, 10, 11, 12, 15, 21})
DESPATCHED_STATUSES = frozenset({4, 5, 6})
MAX_LIMIT = 100
DEFAULT_LATE_PARCEL_HOURS = 26.0
# Happy path 1 -> 15 -> 16 -> 17 -> 20 -> 4: minutes after creation at which each status is reached.
DEFAULT_STATUS_TIMINGS_MINUTES: dict[int, float] = {15: 15.0, 16: 30.0, 17: 45.0, 20: 60.0, 4: 120.0}

UNAUTHORISED = {"Message": "Authorization has been denied for this request."}
CLOUDFLARE_1015 = (
    b"<!DOCTYPE html><html><head><title>Access denied | api.scend.example used Cloudflare to restrict "
    b"access</title></head><body><h1>Error 1015</h1><h2>You are being rate limited</h2>"
    b"<p>The owner of this website has banned you temporarily from accessing this website.</p></body></html>"
)
REQUIRED_FIELDS = ("OrderNumber", "Address1", "Town", "PostCode", "Country")
DEFAULT_WAREHOUSE_ID = 3  # where stock sits and orders allocate when they name no WarehouseId
MAX_CHANNEL_ROWS = 100  # rows per POST to the inferred stock-write endpoint [I]
WINDOW = timedelta(seconds=60)


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _parse(value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _query(request: Request, name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in request.query.items() if key.lower() == wanted), "")


def royal_mail_number(rng: random.Random) -> str:
    """A Royal Mail tracked number in the UPU S10 form: 2 letters, 8 digits, check digit, GB."""
    serial = [rng.randrange(10) for _ in range(8)]
    check = 11 - sum(d * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    check = {10: 0, 11: 5}.get(check, check)
    return f"{rng.choice(('JB', 'JD', 'JF', 'JH'))}{''.join(map(str, serial))}{check}GB"


def dpd_number(rng: random.Random) -> str:
    """A DPD UK parcel number: 14 digits."""
    return "15" + "".join(str(rng.randrange(10)) for _ in range(12))


# Courier name, number generator and tracking page, chosen by the order's CourierService.
COURIERS: dict[str, tuple[Any, str]] = {
    "Royal Mail": (royal_mail_number, "https://www.royalmail.com/track-your-item#/tracking-results/{}"),
    "DPD": (dpd_number, "https://track.dpd.co.uk/parcels/{}"),
}


def courier_for(service: str) -> str:
    return "DPD" if "dpd" in service.lower() else "Royal Mail"


def split_items(items: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Two parcels from 2+ units: cut inside the last line of 2+ units (so one SKU spans both parcels),
    or between lines when every line is a single unit."""
    multi = [index for index, (_, quantity) in enumerate(items) if quantity >= 2]
    if not multi:
        cut = len(items) // 2
        return items[:cut], items[cut:]
    index = multi[-1]
    sku, quantity = items[index]
    part = quantity // 2
    return [*items[:index], (sku, part)], [(sku, quantity - part), *items[index + 1 :]]


class ScendSimulator(Simulator):
    """In-memory warehouse: catalogue, orders, statuses; mounted under /api/ like Mintsoft."""

    name = "scend"

    def __init__(
        self,
        api_key: str,
        *,
        clock: Clock,
        faults: FaultPlan | None = None,
        enforce_unique_reference: bool = False,
        status_timings_minutes: dict[int, float] | None = None,
        split_rate: float = 0.0,
        multi_tracking_rate: float = 0.0,
        late_parcel_hours: float = DEFAULT_LATE_PARCEL_HOURS,
        seed: int = 0,
        calls_per_minute: int | None = None,
        stock_write_endpoint: str | None = None,
        cancellable_statuses: frozenset[int] = CANCELLABLE_STATUSES,
    ):
        """`stock_write_endpoint`: serve the inferred stock write (POST, a path under /api/ such as
        "Product/ChannelStockLevels") only when the connector's config names one; None serves none,
        as the card lists no stock write."""
        super().__init__(clock=clock, faults=faults)
        self.cancellable_statuses = frozenset(cancellable_statuses)
        if calls_per_minute is not None and calls_per_minute < 1:
            raise ValueError(f"calls_per_minute must be 1 or more, got {calls_per_minute}")
        self.calls_per_minute = calls_per_minute  # None: no Cloudflare throttle beyond injected faults
        for label, rate in (("split_rate", split_rate), ("multi_tracking_rate", multi_tracking_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{label} must be between 0 and 1, got {rate}")
        if late_parcel_hours < 0:
            raise ValueError(f"late_parcel_hours must not be negative, got {late_parcel_hours}")
        self.api_key = api_key
        self.enforce_unique_reference = enforce_unique_reference
        self.split_rate = split_rate
        self.multi_tracking_rate = multi_tracking_rate
        self.late_parcel_hours = late_parcel_hours
        self.seed = seed
        timings = DEFAULT_STATUS_TIMINGS_MINUTES if status_timings_minutes is None else status_timings_minutes
        unknown = sorted(set(timings) - set(STATUS_NAMES))
        if unknown:
            raise ValueError(f"status_timings_minutes has unknown status ids {unknown}")
        self.status_timings_minutes = dict(timings)
        self._lose_lock = threading.Lock()
        self.reset()

        self.route("PUT", r"/api/Order", self._create_order, writes=True)
        self.route("GET", r"/api/Order/Search", self._search_orders)
        self.route("GET", r"/api/Order/Statuses", self._statuses)
        self.route("GET", r"/api/Order/List", self._list_orders)
        self.route("GET", r"/api/Order/(?P<order_id>\d+)", self._get_order)
        self.route("GET", r"/api/Order/(?P<order_id>\d+)/Items", self._order_items)
        self.route("GET", r"/api/Order/(?P<order_id>\d+)/Shipments", self._order_shipments)
        self.route("GET", r"/api/Order/(?P<order_id>\d+)/Splits", self._order_splits)
        self.route("GET", r"/api/Order/(?P<order_id>\d+)/Cancel", self._cancel_order, writes=True)
        self.route("GET", r"/api/Return/SearchByDate", self._returns_by_date)
        self.route("GET", r"/api/Return/(?P<return_id>\d+)", self._get_return)
        self.route("GET", r"/api/Product/Search", self._search_products)
        self.route("GET", r"/api/Product/List", self._list_products)
        self.route("PUT", r"/api/Product", self._create_product, writes=True)
        self.route("POST", r"/api/Product", self._update_product, writes=True)
        self.route("GET", r"/api/Product/StockLevels", self._stock_levels)
        self.route("GET", r"/api/Product/StockLevels/UpdatedSince", self._stock_updated_since)
        # Card 3.6 names the feed and FromDate [V] and one row shape, the StockLevels row (Level, Breakdown),
        # its example beside the feed: the feed's rows take that shape, Breakdown when asked (None). A test
        # sets False to model a feed that leaves Breakdown out (null), True to send it unasked. Unpaged.
        self.feed_breakdown: bool | None = None
        self.feed_calls = 0
        self._stock_write_endpoint: str | None = None
        self.stock_write_endpoint = stock_write_endpoint

    @property
    def stock_write_endpoint(self) -> str | None:
        """The inferred stock write this warehouse serves (a path under /api/), or None: the switch."""
        return self._stock_write_endpoint

    @stock_write_endpoint.setter
    def stock_write_endpoint(self, endpoint: str | None) -> None:
        with self.lock:
            self.routes = [route for route in self.routes if route[2] != self._set_channel_stock]
            self._stock_write_endpoint = endpoint.strip("/") if endpoint else None
            if self._stock_write_endpoint is not None:
                self.route(
                    "POST", f"/api/{re.escape(self._stock_write_endpoint)}", self._set_channel_stock, writes=True
                )

    # -- platform behaviour --------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("ms-apikey") != self.api_key:
            return Response(401, UNAUTHORISED)
        return None

    def throttled_response(self, request: Request) -> Response:
        with self.lock:
            self.throttled += 1
        return Response(429, raw=CLOUDFLARE_1015, headers={"Retry-After": "0", "Content-Type": "text/html"})

    def before_request(self, request: Request) -> Response | None:
        """Cloudflare-style: at most `calls_per_minute` per rolling minute of the simulation clock (one
        source IP); refused calls do not count."""
        if self.calls_per_minute is None:
            return None
        with self.lock:
            now = self.clock.now()
            while self._calls and now - self._calls[0] >= WINDOW:
                self._calls.popleft()
            if len(self._calls) >= self.calls_per_minute:
                return self.throttled_response(request)
            self._calls.append(now)
        return None

    def dispatch(self, request: Request) -> tuple[Response | None, float]:
        response, delay = super().dispatch(request)
        if response is not None and response.status == 200 and request.method == "PUT" and self._is_create(request):
            with self._lose_lock:
                if self._responses_to_lose > 0:
                    self._responses_to_lose -= 1
                    self.faults_injected[FaultKind.LOST_RESPONSE] += 1
                    return None, 0.0
        return response, delay

    def before_route(self, request: Request) -> None:
        """The scenario's create hook runs here, outside the lock: the cancellation it starts reads this
        warehouse (on an execution's thread) while the create waits. Called under the lock, as it once
        was, that read waited for the create and the create for the execution, until the sandbox's
        30-second execution timeout broke the tie."""
        hook = self.before_create
        if hook is not None and request.method == "PUT" and self._is_create(request) and isinstance(request.body, dict):
            hook(str(request.body.get("OrderNumber") or ""))

    @staticmethod
    def _is_create(request: Request) -> bool:
        return request.path.rstrip("/").lower() == "/api/order"

    # -- routes --------------------------------------------------------------------------------
    def _create_order(self, request: Request, match: re.Match[str]) -> Response:
        self.create_attempts += 1
        body = request.body
        if not isinstance(body, dict):
            return Response(400, {"Message": "The request is invalid."})
        reference = str(body.get("OrderNumber") or "")
        problem = self._validate(body)
        if problem:
            return Response(200, [self._result(reference, success=False, message=problem)])
        order_id = self._next_order_id
        self._next_order_id += 1
        now = self.clock.now()
        items = [
            {
                "ID": order_id * 10 + index,
                "ProductId": self._products[item["SKU"]]["ID"],
                "SKU": item["SKU"],
                "Quantity": item["Quantity"],
                "UnitPrice": item.get("UnitPrice", 0),
                "UnitPriceVat": item.get("UnitPriceVat", 0),
            }
            for index, item in enumerate(body["OrderItems"], start=1)
        ]
        order = {key: value for key, value in body.items() if key != "OrderItems"}
        order.update(
            ID=order_id,
            ClientId=body.get("ClientId") or 1,
            OrderDate=_timestamp(now),
            OrderStatusId=NEW,
            OrderStatus=STATUS_NAMES[NEW],
            LastUpdated=_timestamp(now),
            DespatchDate=None,
            TrackingNumber="",
            TrackingURL="",
            CourierServiceName=str(body.get("CourierService") or ""),
            NumberOfParcels=0,
            Part=1,
            NumberOfParts=1,
            OrderItems=items,
        )
        self._orders[order_id] = order
        self._created_at[order_id] = now
        self._allocate_order(order_id)
        result = self._result(reference, success=True, message="Order created", order=order)
        result["OrderItems"] = [{"SKU": item["SKU"], "ID": item["ID"]} for item in items]
        return Response(200, [result])

    def _validate(self, body: dict[str, Any]) -> str | None:
        """The first reason a WMS would refuse this order, or None."""
        for field in REQUIRED_FIELDS:
            if not str(body.get(field) or "").strip():
                return f"{field} is required"
        reference = str(body["OrderNumber"])
        if self.enforce_unique_reference and any(o["OrderNumber"] == reference for o in self._orders.values()):
            self.duplicate_rejections += 1
            return f"Order with OrderNumber '{reference}' already exists"
        if not re.fullmatch(r"[A-Z]{2}", str(body["Country"])):
            return f"Country '{body['Country']}' not recognised"
        items = body.get("OrderItems")
        if not isinstance(items, list) or not items:
            return "Order must contain at least one OrderItem"
        for item in items:
            sku = item.get("SKU") if isinstance(item, dict) else None
            if not isinstance(sku, str) or sku not in self._products:
                return f"Product with SKU '{sku}' not found"
            quantity = item.get("Quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                return f"Quantity for SKU '{sku}' must be a whole number greater than 0"
        return None

    @staticmethod
    def _result(reference: str, *, success: bool, message: str, order: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "OrderId": order["ID"] if order else 0,
            "DropShipOrderId": 0,
            "OrderNumber": reference,
            "Success": success,
            "OrderStatusId": order["OrderStatusId"] if order else 0,
            "OrderStatus": order["OrderStatus"] if order else None,
            "Message": message,
            "OrderItems": [],
        }

    def _search_orders(self, request: Request, match: re.Match[str]) -> Response:
        # Modelled as a case-insensitive "contains" search [I], so the connector's exact match is exercised.
        text = request.query.get("OrderNumber", "").lower()
        if not text:
            return Response(200, [])
        found = [
            self._read(order_id) for order_id, order in self._orders.items() if text in order["OrderNumber"].lower()
        ]
        return Response(200, found)

    def _get_order(self, request: Request, match: re.Match[str]) -> Response:
        order_id = int(match.group("order_id"))
        if order_id not in self._orders:
            return Response(404, {"Message": f"Order {order_id} not found"})
        return Response(200, self._read(order_id))

    def _statuses(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, [{"ID": status_id, "Name": name} for status_id, name in STATUS_NAMES.items()])

    def _search_products(self, request: Request, match: re.Match[str]) -> Response:
        # Mintsoft: "Product Search by SKU/Name", a partial, case-insensitive match.
        text = request.query.get("Search", "").lower()
        if not text:
            return Response(200, [])
        found = [
            copy.deepcopy(product)
            for product in self._products.values()
            if text in product["SKU"].lower() or text in str(product.get("Name", "")).lower()
        ]
        return Response(200, found)

    def _list_products(self, request: Request, match: re.Match[str]) -> Response:
        """GET Product/List [V]: the client's catalogue, PageNo/Limit (at most 100), ordered by ID [I]."""
        try:
            page = int(_query(request, "PageNo") or 1)
            limit = int(_query(request, "Limit") or MAX_LIMIT)
        except ValueError:
            return Response(400, {"Message": "The request is invalid.", "Detail": "PageNo and Limit must be integers"})
        if page < 1 or not 1 <= limit <= MAX_LIMIT:
            return Response(
                400,
                {"Message": "The request is invalid.", "Detail": f"PageNo must be 1 or more and Limit 1-{MAX_LIMIT}"},
            )
        rows = sorted(self._products.values(), key=lambda product: int(product["ID"]))
        return Response(200, copy.deepcopy(rows[(page - 1) * limit : page * limit]))

    def _list_orders(self, request: Request, match: re.Match[str]) -> Response:
        """GET Order/List [V]: OrderStatusId, SinceDespatchDate (DespatchDate at or after it [I]),
        SinceLastUpdated, ClientId, WarehouseId, IncludeOrderItems, PageNo/Limit (at most 100), ordered by ID [I]."""
        try:
            page = int(_query(request, "PageNo") or 1)
            limit = int(_query(request, "Limit") or MAX_LIMIT)
            status_text = _query(request, "OrderStatusId").strip()
            status = int(status_text) if status_text else None
            warehouse_text = _query(request, "WarehouseId").strip()
            warehouse = int(warehouse_text) if warehouse_text else None
        except ValueError:
            return Response(
                400,
                {
                    "Message": "The request is invalid.",
                    "Detail": "PageNo, Limit, OrderStatusId and WarehouseId must be integers",
                },
            )
        if page < 1 or not 1 <= limit <= MAX_LIMIT:
            return Response(
                400,
                {"Message": "The request is invalid.", "Detail": f"PageNo must be 1 or more and Limit 1-{MAX_LIMIT}"},
            )
        dates: dict[str, datetime | None] = {}
        for name in ("SinceDespatchDate", "SinceLastUpdated"):
            text = _query(request, name)
            try:
                dates[name] = _parse(text) if text else None
            except ValueError:
                return Response(400, {"Message": "The request is invalid.", "Detail": f"{name} '{text}'"})
        items = _query(request, "IncludeOrderItems").strip().lower() == "true"
        rows = []
        for order_id in sorted(self._orders):
            self._advance(order_id)
            order = self._orders[order_id]  # filtered first, copied only when listed
            if status is not None and order["OrderStatusId"] != status:
                continue
            if warehouse is not None and self._warehouse_of(order) != warehouse:
                continue
            despatched = dates["SinceDespatchDate"]
            if despatched is not None and (not order["DespatchDate"] or _parse(order["DespatchDate"]) < despatched):
                continue
            updated = dates["SinceLastUpdated"]
            if updated is not None and _parse(order["LastUpdated"]) < updated:
                continue
            row = copy.deepcopy(order)
            if not items:
                row.pop("OrderItems", None)
            rows.append(row)
        start = (page - 1) * limit
        return Response(200, rows[start : start + limit])

    def _order_items(self, request: Request, match: re.Match[str]) -> Response:
        order_id = int(match.group("order_id"))
        if order_id not in self._orders:
            return Response(404, {"Message": f"Order {order_id} not found"})
        return Response(200, self._read(order_id)["OrderItems"])

    def _returns_by_date(self, request: Request, match: re.Match[str]) -> Response:
        """GET Return/SearchByDate?Date= [V]: one day's returns. The rows leave out ReturnItems [I], so a
        reader asks Return/{id} for them."""
        day = _query(request, "Date")[:10]
        rows = [
            {key: value for key, value in row.items() if key not in ("ReturnItems", "Day")}
            for row in self._returns.values()
            if row["Day"] == day
        ]
        return Response(200, copy.deepcopy(rows))

    def _get_return(self, request: Request, match: re.Match[str]) -> Response:
        """GET Return/{id} [V]: OrderId, OrderNumber, Reference, Confirmed, Refunded, Exchanged, ReturnItems;
        items carry the AddItem fields (ProductId, Quantity, ReturnReasonId, Action, Comments) [I: read shape]."""
        row = self._returns.get(int(match.group("return_id")))
        if row is None:
            return Response(404, {"Message": "Return not found"})
        return Response(200, copy.deepcopy({key: value for key, value in row.items() if key != "Day"}))

    def _order_shipments(self, request: Request, match: re.Match[str]) -> Response:
        """GET Order/{id}/Shipments [V]: the order's parcels, [] before it leaves."""
        order_id = int(match.group("order_id"))
        if order_id not in self._orders:
            return Response(404, {"Message": f"Order {order_id} not found"})
        self._advance(order_id)
        return Response(200, copy.deepcopy(self._order_parcels.get(order_id, [])))

    def _order_splits(self, request: Request, match: re.Match[str]) -> Response:
        """GET Order/{id}/Splits [V fields, meaning I]: {ID, OrderId, Order, SplitOrderId, SplitOrder} rows
        naming the order it was split from and the orders split from it; [] for an order never split."""
        order_id = int(match.group("order_id"))
        if order_id not in self._orders:
            return Response(404, {"Message": f"Order {order_id} not found"})
        self._advance(order_id)
        rows = []
        for split in self._splits:
            if order_id in (split["OrderId"], split["SplitOrderId"]):
                row = dict(split)
                for key, other in (("Order", split["OrderId"]), ("SplitOrder", split["SplitOrderId"])):
                    summary = self._read(other)
                    summary.pop("OrderItems", None)
                    row[key] = summary
                rows.append(row)
        return Response(200, rows)

    def _cancel_order(self, request: Request, match: re.Match[str]) -> Response:
        """GET /api/Order/{id}/Cancel -> ToolkitResult [V]. Accepted only in the cancellable statuses of the
        card's rule (3.4), refused otherwise with Success false and the status named; an order that has
        left (any part of it) is refused too. A cancelled order answers Success again, so a repeat after
        a lost response is harmless [I]."""
        order_id = int(match.group("order_id"))
        if order_id not in self._orders:
            return Response(404, {"Message": f"Order {order_id} not found"})
        self.cancel_requests += 1
        self._advance(order_id)
        order = self._orders[order_id]
        status = order["OrderStatusId"]
        if status == CANCELLED:
            return Response(200, {"ID": order_id, "Success": True, "Message": "Order already cancelled"})
        if self._order_parcels.get(order_id) or status in DESPATCHED_STATUSES:
            self.cancel_refusals += 1
            return Response(
                200,
                {
                    "ID": order_id,
                    "Success": False,
                    "Message": f"Order {order_id} has been despatched and cannot be cancelled",
                },
            )
        if status not in self.cancellable_statuses:
            self.cancel_refusals += 1
            return Response(
                200,
                {
                    "ID": order_id,
                    "Success": False,
                    "Message": f"Order {order_id} is {STATUS_NAMES[status]} and cannot be cancelled",
                },
            )
        self._set(order, CANCELLED, self.clock.now())
        self._pinned.add(order_id)
        self._plans.pop(order_id, None)
        self._forced.pop(order_id, None)
        self.cancelled_at[order_id] = self.clock.now()
        return Response(200, {"ID": order_id, "Success": True, "Message": "Order cancelled"})

    # -- virtual time --------------------------------------------------------------------------
    def _root_of(self, order_id: int) -> int:
        return self._roots.get(order_id, order_id)

    def _advance(self, order_id: int) -> None:
        """Apply the status timetable and the despatch plan up to the clock's now; pinned orders stay put."""
        order_id = self._root_of(order_id)
        order = self._orders[order_id]
        if order_id in self._pinned:
            return
        now = self.clock.now()
        created = self._created_at[order_id]
        plan = self._plans.get(order_id)
        if plan is None:
            despatch_at = self._forced.get(order_id)
            if despatch_at is None and DESPATCHED in self.status_timings_minutes:
                despatch_at = created + timedelta(minutes=self.status_timings_minutes[DESPATCHED])
            if despatch_at is not None and despatch_at <= now:
                plan = self._plan(order_id, despatch_at)
        if plan is not None:
            self._despatch_due(order_id, plan, now)
            return
        elapsed_minutes = (now - created).total_seconds() / 60
        reached = [
            (minutes, status_id)
            for status_id, minutes in self.status_timings_minutes.items()
            if minutes <= elapsed_minutes and status_id != DESPATCHED
        ]
        if reached:
            minutes, status_id = max(reached)
            self._set(order, status_id, created + timedelta(minutes=minutes))

    @staticmethod
    def _set(order: dict[str, Any], status_id: int, moment: datetime) -> None:
        if order["OrderStatusId"] != status_id:
            order["OrderStatusId"] = status_id
            order["OrderStatus"] = STATUS_NAMES[status_id]
            order["LastUpdated"] = _timestamp(moment)

    def _plan(self, order_id: int, despatch_at: datetime) -> dict[str, Any]:
        """How the order will leave: whole, or split in two with the second part `late_parcel_hours` later."""
        order = self._orders[order_id]
        rng = random.Random(f"scend-parcels:{self.seed}:{order_id}")
        items = [(str(item["SKU"]), int(item["Quantity"])) for item in order["OrderItems"]]
        split = rng.random() < self.split_rate and sum(quantity for _, quantity in items) >= 2
        groups = list(split_items(items)) if split else [items]
        courier = courier_for(str(order.get("CourierService") or ""))
        number, _ = COURIERS[courier]
        parts = []
        for index, group in enumerate(groups):
            count = 2 if rng.random() < self.multi_tracking_rate else 1
            parts.append(
                {
                    "due": despatch_at + timedelta(hours=self.late_parcel_hours * index),
                    "items": group,
                    "courier": courier,
                    "tracking": [number(rng) for _ in range(count)],
                    "order_id": order_id if index == 0 else None,  # the split-off order is made when part 1 leaves
                }
            )
        plan = {"parts": parts, "shipped": 0}
        self._plans[order_id] = plan
        return plan

    def _despatch_due(self, order_id: int, plan: dict[str, Any], now: datetime) -> None:
        parts = plan["parts"]
        while plan["shipped"] < len(parts) and parts[plan["shipped"]]["due"] <= now:
            index = plan["shipped"]
            if index == 0 and len(parts) > 1:
                self._split(order_id, parts)
            self._despatch(order_id, parts[index], now)
            plan["shipped"] += 1

    def _split(self, order_id: int, parts: list[dict[str, Any]]) -> None:
        """The warehouse splits the order as its first part leaves: the rest becomes a new order [I]."""
        order = self._orders[order_id]
        moment = parts[0]["due"]
        by_sku = {item["SKU"]: item for item in order["OrderItems"]}
        keep = [{**by_sku[sku], "Quantity": quantity} for sku, quantity in parts[0]["items"]]
        split_id = self._next_order_id
        self._next_order_id += 1
        rest = [
            {**by_sku[sku], "ID": split_id * 10 + index, "Quantity": quantity}
            for index, (sku, quantity) in enumerate(parts[1]["items"], start=1)
        ]
        split = copy.deepcopy({key: value for key, value in order.items() if key != "OrderItems"})
        split.update(
            ID=split_id,
            OrderNumber=f"{order['OrderNumber']}-2",
            Part=2,
            NumberOfParts=2,
            OrderStatusId=AWAITING_REPLEN,
            OrderStatus=STATUS_NAMES[AWAITING_REPLEN],
            LastUpdated=_timestamp(moment),
            OrderItems=rest,
        )
        order.update(OrderItems=keep, Part=1, NumberOfParts=2, LastUpdated=_timestamp(moment))
        self._orders[split_id] = split
        self._created_at[split_id] = moment
        self._roots[split_id] = order_id
        parts[1]["order_id"] = split_id
        self._splits.append(
            {
                "ID": len(self._splits) + 1,
                "OrderId": order_id,
                "SplitOrderId": split_id,
                "LastUpdated": _timestamp(moment),
            }
        )

    def _despatch(self, root_id: int, part: dict[str, Any], now: datetime) -> None:
        """One order (the whole order, or one part of a split) leaves in one or more parcels."""
        order_id = part["order_id"]
        order = self._orders[order_id]
        moment, courier, tracking = part["due"], part["courier"], part["tracking"]
        url = COURIERS[courier][1].format(tracking[0])
        parcels = []
        for number, tracking_number in enumerate(tracking, start=1):
            parcels.append(
                {
                    "ID": self._next_parcel_id,
                    "OrderId": order_id,
                    "ParcelNo": number,
                    "TrackingNumber": tracking_number,
                    "CourierType": courier,
                    "ShipmentDate": _timestamp(moment),
                    "LastUpdated": _timestamp(moment),
                }
            )
            self._next_parcel_id += 1
        self._order_parcels[order_id] = parcels
        order.update(
            DespatchDate=_timestamp(moment), TrackingNumber=tracking[0], TrackingURL=url, NumberOfParcels=len(parcels)
        )
        target, at = DESPATCHED, moment
        despatch_minutes = self.status_timings_minutes.get(DESPATCHED)
        created = self._created_at[root_id]
        if despatch_minutes is not None and order_id == root_id:  # statuses timed after despatch (5 Invoiced)
            later = [
                (minutes, status_id)
                for status_id, minutes in self.status_timings_minutes.items()
                if minutes > despatch_minutes and created + timedelta(minutes=minutes) <= now
            ]
            if later:
                minutes, target = max(later)
                at = max(moment, created + timedelta(minutes=minutes))
        self._set(order, target, at)
        self._despatch_stock(root_id, part["items"], moment)
        self._despatches.append(
            (
                moment,
                {
                    "DespatchId": order_id,
                    "OrderId": order_id,
                    "RootOrderId": root_id,
                    "OrderNumber": self._orders[root_id]["OrderNumber"],
                    "DespatchDate": _timestamp(moment),
                    "Items": [{"SKU": sku, "Quantity": quantity} for sku, quantity in part["items"]],
                    "TrackingNumbers": list(tracking),
                    "Parcels": copy.deepcopy(parcels),
                },
            )
        )

    def _sweep(self) -> None:
        for order_id in sorted(self._orders):
            self._advance(order_id)

    def _read(self, order_id: int) -> dict[str, Any]:
        self._advance(order_id)
        return copy.deepcopy(self._orders[order_id])

    # -- scenario and inspection helpers ---------------------------------------------------------
    def reset(self, *, clock: Clock | None = None) -> None:
        """Empty the warehouse (catalogue, orders, counters) and keep the server running, so a test
        suite can share one started simulator; options and faults are left as they are."""
        with self.lock:
            if clock is not None:
                self.clock = clock
            self.create_attempts = 0
            self.cancel_requests = 0
            self.cancel_refusals = 0
            self.cancelled_at: dict[int, datetime] = {}  # order id -> when a cancel was accepted
            self.before_create: Any = None  # scenario hook: called with the OrderNumber before a create lands
            self.duplicate_rejections = 0
            self.product_writes = 0  # PUT and POST /api/Product calls that reached the handler
            self._products: dict[str, dict[str, Any]] = {}
            self._orders: dict[int, dict[str, Any]] = {}
            self._created_at: dict[int, datetime] = {}
            self._pinned: set[int] = set()  # statuses set by a scenario stop following the timetable
            self._plans: dict[int, dict[str, Any]] = {}  # despatch plans, made when an order first ships
            self._forced: dict[int, datetime] = {}  # despatch moments set by ship_now
            self._order_parcels: dict[int, list[dict[str, Any]]] = {}  # order id -> its parcel rows
            self._despatches: list[tuple[datetime, dict[str, Any]]] = []  # truth: what left, in order
            self._roots: dict[int, int] = {}  # split-off order id -> the order it was split from
            self._splits: list[dict[str, Any]] = []  # Order/{id}/Splits rows
            self._returns: dict[int, dict[str, Any]] = {}  # Return/{id}, with the day it was booked in
            self._next_return_id = 900001
            self._next_parcel_id = 700001
            self._next_order_id = 50001
            self._next_product_id = 801
            # Stock: physical units per (SKU, WarehouseId); allocated = units on open orders.
            self._stock: dict[tuple[str, int], dict[str, int]] = {}  # total, quarantine, damaged
            self._stock_updated: dict[tuple[str, int], datetime] = {}
            self._allocated: dict[tuple[str, int], int] = defaultdict(int)
            self._open: dict[int, dict[tuple[str, int], int]] = {}  # order -> units it still holds
            self._stock_keys: list[tuple[str, int]] | None = None  # sorted; rebuilt when a row is added
            self._stock_by_warehouse: dict[int, list[tuple[str, int]]] = {}
            self._settled: tuple[datetime, int] | None = None  # (clock, next order id) of the last sweep
            self.warehouses: set[int] = {DEFAULT_WAREHOUSE_ID}
            self.channel_stock: dict[tuple[str, int], int] = {}  # sellable figures set by the connector
            self.channel_writes = 0  # POST Product/ChannelStockLevels calls that reached the handler
            self.channel_rows_applied = 0
            self.channel_history: list[tuple[str, int, int]] = []  # every applied (SKU, WarehouseId, Quantity)
            self.throttled = 0  # 429s answered, from calls_per_minute and from injected faults
            self._calls: deque[datetime] = deque()
            self.requests.clear()
            self.faults_injected.clear()
        with self._lose_lock:
            self._responses_to_lose = 0

    def add_product(self, sku: str, name: str = "", **fields: Any) -> dict[str, Any]:
        """Put a SKU in the catalogue (exactly as spelled); extra Mintsoft product fields are kept."""
        with self.lock:
            product = {"ID": self._next_product_id, "SKU": sku, "Name": name or sku, **fields}
            self._next_product_id += 1
            self._products[sku] = product
            return copy.deepcopy(product)

    def product(self, sku: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._products.get(sku)
            return copy.deepcopy(found) if found else None

    def _validate_product(self, body: dict[str, Any]) -> str | None:
        """Like a WMS: SKU exactly as sent (no whitespace or control characters, at most 50), a name, an EAN
        of 8/12/13/14 digits when present. Rules inferred (Scend documents none). On update `body` is the
        record as it would be after the change, so a blanked Name is refused too."""
        sku = body.get("SKU")
        if not isinstance(sku, str) or not sku or len(sku) > 50 or any(c.isspace() or not c.isprintable() for c in sku):
            return f"Invalid SKU {sku!r}: 1-50 characters, no spaces or control characters"
        if not str(body.get("Name") or "").strip():
            return f"Product {sku!r}: Name is required"
        ean = body.get("EAN")
        if ean not in (None, "") and not re.fullmatch(r"\d{8}|\d{12}|\d{13}|\d{14}", str(ean)):
            return f"Invalid EAN {ean!r} for product {sku!r}"
        return None

    def _create_product(self, request: Request, match: re.Match[str]) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        self.product_writes += 1
        problem = self._validate_product(body)
        if problem:
            return Response(200, {"ID": None, "Success": False, "Message": problem})
        if body["SKU"] in self._products:
            return Response(
                200, {"ID": None, "Success": False, "Message": f"Product with SKU '{body['SKU']}' already exists"}
            )
        product = {"ID": self._next_product_id, **body}
        self._next_product_id += 1
        self._products[body["SKU"]] = product
        return Response(200, {"ID": product["ID"], "Success": True, "Message": "Product created"})

    def _update_product(self, request: Request, match: re.Match[str]) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        self.product_writes += 1
        current = next((p for p in self._products.values() if p["ID"] == body.get("ID")), None)
        if current is None:
            return Response(200, {"ID": body.get("ID"), "Success": False, "Message": "Product not found"})
        problem = self._validate_product({**current, **body})
        if problem:
            return Response(200, {"ID": current["ID"], "Success": False, "Message": problem})
        current.update({k: v for k, v in body.items() if k not in ("ID", "SKU")})
        return Response(200, {"ID": current["ID"], "Success": True, "Message": "Product updated"})

    def remove_product(self, sku: str) -> None:
        """Take a product out of the catalogue (it was deleted or renamed at the warehouse)."""
        with self.lock:
            self._products.pop(sku, None)

    def has_product(self, sku: str) -> bool:
        with self.lock:
            return sku in self._products

    def orders(self) -> list[dict[str, Any]]:
        """Every order (split-off parts included), oldest first, with statuses brought up to the clock."""
        with self.lock:
            return [self._read(order_id) for order_id in sorted(self._orders)]

    def root_orders(self) -> list[dict[str, Any]]:
        """Every order as the warehouse received it: split-off parts folded back into the order they came
        from (OrderItems summed per SKU, `Parts` lists the ids), so it can be compared with what was sent."""
        with self.lock:
            self._sweep()
            roots: dict[int, dict[str, Any]] = {}
            for order_id in sorted(self._orders):
                root = self._root_of(order_id)
                order = copy.deepcopy(self._orders[order_id])
                if root not in roots:
                    roots[root] = {**copy.deepcopy(self._orders[root]), "Parts": [], "OrderItems": []}
                held = roots[root]
                held["Parts"].append(order_id)
                for item in order["OrderItems"]:
                    same = next((i for i in held["OrderItems"] if i["SKU"] == item["SKU"]), None)
                    if same is None:
                        held["OrderItems"].append({"SKU": item["SKU"], "Quantity": int(item["Quantity"])})
                    else:
                        same["Quantity"] += int(item["Quantity"])
            return list(roots.values())

    def orders_by_reference(self) -> dict[str, list[dict[str, Any]]]:
        """Orders as received (split parts folded in) grouped by OrderNumber: two under one number is a duplicate."""
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for order in self.root_orders():
            grouped[order["OrderNumber"]].append(order)
        return dict(grouped)

    def created_at(self, reference: str) -> datetime | None:
        """When the (first) order with this OrderNumber was created; None when there is none."""
        with self.lock:
            for order_id in sorted(self._orders):
                if self._orders[order_id]["OrderNumber"] == reference and order_id not in self._roots:
                    return self._created_at[order_id]
            return None

    def was_shipped(self, order_id: int) -> bool:
        """Truth for shipped_after_cancel: any part of the order left."""
        with self.lock:
            self._advance(order_id)
            return any(d["RootOrderId"] == self._root_of(order_id) for _, d in self._despatches)

    def duplicate_references(self) -> int:
        """References held by more than one order as received (possible only with enforce_unique_reference off)."""
        return sum(1 for orders in self.orders_by_reference().values() if len(orders) > 1)

    def set_status(self, order_id: int, status_id: int) -> None:
        """Scenario: the warehouse moves an order by hand (hold, cancel...); it then stops following the timetable."""
        if status_id not in STATUS_NAMES:
            raise ValueError(f"unknown status id {status_id}")
        with self.lock:
            order = self._orders[order_id]
            order["OrderStatusId"] = status_id
            order["OrderStatus"] = STATUS_NAMES[status_id]
            order["LastUpdated"] = _timestamp(self.clock.now())
            self._pinned.add(order_id)
            if status_id == CANCELLED:
                self._release(order_id)

    def despatches(self) -> list[dict[str, Any]]:
        """Everything that left so far (statuses brought up to the clock), in despatch order: per despatched
        order (a whole order or one part of a split) its DespatchId (that order's ID), RootOrderId,
        OrderNumber (the order as sent), DespatchDate, Items, TrackingNumbers and parcel rows."""
        with self.lock:
            self._sweep()
            return [copy.deepcopy(d) for _, d in sorted(self._despatches, key=lambda e: (e[0], e[1]["DespatchId"]))]

    def despatches_for(self, order_id: int) -> list[dict[str, Any]]:
        """What left of one order (as sent; split-off parts included), first part first."""
        with self.lock:
            self._advance(order_id)
            root = self._root_of(order_id)
            return [copy.deepcopy(d) for _, d in self._despatches if d["RootOrderId"] == root]

    def ship_now(self, order_id: int) -> list[dict[str, Any]]:
        """Scenario: the warehouse despatches the order now, whatever its timetable (a hold set by
        set_status is lifted). A fresh order leaves now (a split one's second part `late_parcel_hours`
        later); on a part-despatched order the remaining part leaves now. Returns what this call despatched."""
        with self.lock:
            root = self._root_of(order_id)
            order = self._orders[root]
            if order["OrderStatusId"] == CANCELLED:
                raise ValueError(f"order {root} is cancelled")
            self._pinned.discard(root)
            now = self.clock.now()
            before = len(self._despatches)
            plan = self._plans.get(root)
            if plan is None:
                self._forced[root] = now
            else:
                for part in plan["parts"][plan["shipped"] :]:
                    part["due"] = min(part["due"], now)
            self._advance(root)
            return [copy.deepcopy(d) for _, d in self._despatches[before:]]

    def add_return(
        self, order_id: int, items: list[tuple[str, int, str]], *, confirmed: bool = True, reference: str = ""
    ) -> int:
        """Scenario: the customer's parcel is booked in against an order today; items are (SKU, quantity,
        Action), the Action being what the warehouse did with the units. Returns the return's ID."""
        with self.lock:
            order = self._orders[self._root_of(order_id)]
            return_id = self._next_return_id
            self._next_return_id += 1
            self._returns[return_id] = {
                "ID": return_id,
                "OrderId": order["ID"],
                "OrderNumber": order["OrderNumber"],
                "Reference": reference,
                "Confirmed": confirmed,
                "Refunded": False,
                "Exchanged": False,
                "ReturnItems": [
                    {
                        "ID": return_id * 10 + index,
                        "ProductId": self._products[sku]["ID"],
                        "Quantity": quantity,
                        "ReturnReasonId": 1,
                        "Action": action,
                        "Comments": "",
                    }
                    for index, (sku, quantity, action) in enumerate(items, start=1)
                ],
                "Day": self.clock.now().date().isoformat(),
            }
            return return_id

    def confirm_return(self, return_id: int) -> None:
        """Scenario: a return listed before its goods were booked in is confirmed now."""
        with self.lock:
            self._returns[return_id]["Confirmed"] = True

    def lose_next_create_responses(self, count: int = 1) -> None:
        """Scenario: the next `count` successful-or-refused PUT /api/Order calls are performed, but their
        responses never arrive (the connection drops), as after a timeout on the way back."""
        with self._lose_lock:
            self._responses_to_lose += count

    # -- stock -----------------------------------------------------------------------------------
    # Per (SKU, WarehouseId): total units on hand, of which some are quarantined or damaged. Orders
    # created here allocate their units at their WarehouseId (DEFAULT_WAREHOUSE_ID when they name none)
    # until each parcel leaves (which takes its units off total and allocated) or the order is
    # cancelled (which frees what it still held). Level = total - allocated, quarantined units
    # included; sellable = Level - quarantine - damaged. Orders advance lazily with the clock, so a
    # stock read first sweeps the open orders (only those) up to now.

    def set_stock(
        self, sku: str, total: int, *, quarantine: int = 0, damaged: int = 0, warehouse_id: int = DEFAULT_WAREHOUSE_ID
    ) -> None:
        """Set a SKU's physical stock at a warehouse; a SKU not in the catalogue is added to it (a
        warehouse holds stock only of products it knows)."""
        for label, value in (("total", total), ("quarantine", quarantine), ("damaged", damaged)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{label} must be a whole number 0 or more, got {value!r}")
        if quarantine + damaged > total:
            raise ValueError(f"quarantine + damaged ({quarantine + damaged}) exceed total ({total})")
        with self.lock:
            if sku not in self._products:
                self.add_product(sku)
            key = (sku, warehouse_id)
            if key not in self._stock:
                self._stock_keys = None
            self._stock[key] = {"total": total, "quarantine": quarantine, "damaged": damaged}
            self._stock_updated[key] = self.clock.now()
            self.warehouses.add(warehouse_id)

    def stock_level(self, sku: str, warehouse_id: int = DEFAULT_WAREHOUSE_ID) -> dict[str, int]:
        """The truth a stock read should report: total, allocated, level, quarantine, damaged (and sellable)."""
        with self.lock:
            self._settle_stock()
            key = (sku, warehouse_id)
            held = self._stock.get(key, {"total": 0, "quarantine": 0, "damaged": 0})
            allocated = self._allocated.get(key, 0)
            level = held["total"] - allocated
            return {
                "total": held["total"],
                "allocated": allocated,
                "level": level,
                "quarantine": held["quarantine"],
                "damaged": held["damaged"],
                "sellable": level - held["quarantine"] - held["damaged"],
            }

    def _warehouse_of(self, order: dict[str, Any]) -> int:
        warehouse = order.get("WarehouseId")
        return (
            warehouse
            if isinstance(warehouse, int) and not isinstance(warehouse, bool) and warehouse > 0
            else DEFAULT_WAREHOUSE_ID
        )

    def _allocate_order(self, order_id: int) -> None:
        order = self._orders[order_id]
        warehouse = self._warehouse_of(order)
        held: dict[tuple[str, int], int] = defaultdict(int)
        for item in order["OrderItems"]:
            held[(item["SKU"], warehouse)] += int(item["Quantity"])
        for key, quantity in held.items():
            self._allocated[key] += quantity
            self._touch(key)
        self._open[order_id] = dict(held)

    def _despatch_stock(self, order_id: int, items: list[tuple[str, int]], moment: datetime) -> None:
        """A parcel left: its units leave total and stop being allocated."""
        warehouse = self._warehouse_of(self._orders[order_id])
        held = self._open.get(order_id, {})
        for sku, quantity in items:
            key = (sku, warehouse)
            freed = min(quantity, held.get(key, 0))
            if freed:
                held[key] -= freed
                self._allocated[key] -= freed
            if key in self._stock:
                self._stock[key]["total"] = max(0, self._stock[key]["total"] - quantity)
            self._touch(key, moment)
        if not any(held.values()):
            self._open.pop(order_id, None)

    def _release(self, order_id: int) -> None:
        """A cancelled order frees what it still held."""
        for key, quantity in self._open.pop(order_id, {}).items():
            self._allocated[key] -= quantity
            self._touch(key)

    def _touch(self, key: tuple[str, int], moment: datetime | None = None) -> None:
        if key in self._stock:
            self._stock_updated[key] = moment or self.clock.now()

    def _settle_stock(self) -> None:
        """Advance the open orders to the clock's now (parcels leave, cancellations free stock);
        skipped when neither the clock nor the order count moved since the last sweep."""
        mark = (self.clock.now(), self._next_order_id)
        if self._settled == mark:
            return
        for order_id in list(self._open):
            self._advance(order_id)
            if self._orders[order_id]["OrderStatusId"] == CANCELLED:
                self._release(order_id)
        self._settled = mark

    def _stock_row(self, keys: list[tuple[str, int]], warehouse_id: int, breakdown: bool) -> dict[str, Any]:
        """One StockLevels row over `keys` (one key, or every warehouse of a SKU when WarehouseId=0)."""
        sku = keys[0][0]
        product = self._products.get(sku) or {}
        total = sum(self._stock[key]["total"] for key in keys)
        quarantine = sum(self._stock[key]["quarantine"] for key in keys)
        damaged = sum(self._stock[key]["damaged"] for key in keys)
        allocated = sum(self._allocated.get(key, 0) for key in keys)
        row: dict[str, Any] = {
            "ProductId": product.get("ID"),
            "WarehouseId": warehouse_id,
            "ClientId": product.get("ClientId") or 1,
            "SKU": sku,
            "Level": total - allocated,
            "TotalStockLevel": total,
            "LowStockLevel": product.get("LowStockLevel") or 0,
            "Bundle": False,
            "PreOrderable": False,
            "LastUpdated": _timestamp(max(self._stock_updated[key] for key in keys)),
            "Breakdown": None,
        }
        if breakdown:
            parts = (("Quarantine", quarantine), ("Damaged", damaged), ("Available", total - quarantine - damaged))
            row["Breakdown"] = [
                {"Quantity": quantity, "BatchNo": None, "SerialNo": None, "BestBefore": None, "Type": kind}
                for kind, quantity in parts
                if quantity
            ]
        return row

    def _stock_levels(self, request: Request, match: re.Match[str]) -> Response:
        """GET Product/StockLevels: one row per SKU and warehouse, sorted by SKU then WarehouseId;
        WarehouseId=0 sums each SKU over every warehouse; SKU matches exactly. PageNo/Limit (at most
        100), no total: a short page is the last."""
        try:
            page = int(_query(request, "PageNo") or 1)
            limit = int(_query(request, "Limit") or MAX_LIMIT)
            warehouse_text = _query(request, "WarehouseId").strip()
            warehouse = int(warehouse_text) if warehouse_text else None
            product_text = _query(request, "ProductId").strip()
            product_id = int(product_text) if product_text else None
        except ValueError:
            return Response(
                400,
                {
                    "Message": "The request is invalid.",
                    "Detail": "PageNo, Limit, WarehouseId and ProductId must be integers",
                },
            )
        if page < 1 or not 1 <= limit <= MAX_LIMIT:
            return Response(
                400,
                {"Message": "The request is invalid.", "Detail": f"PageNo must be 1 or more and Limit 1-{MAX_LIMIT}"},
            )
        breakdown = _query(request, "Breakdown").strip().lower() == "true"
        sku = _query(request, "SKU").strip()
        self._settle_stock()
        every, by_warehouse = self._sorted_stock()
        keys = every if warehouse in (None, 0) else by_warehouse.get(warehouse, [])
        if sku or product_id is not None:
            keys = [
                key
                for key in keys
                if (not sku or key[0] == sku)
                and (product_id is None or (self._products.get(key[0]) or {}).get("ID") == product_id)
            ]
        start = (page - 1) * limit
        if warehouse == 0:
            grouped: dict[str, list[tuple[str, int]]] = defaultdict(list)
            for key in keys:
                grouped[key[0]].append(key)
            chosen = list(grouped.values())[start : start + limit]
            return Response(200, [self._stock_row(group, 0, breakdown) for group in chosen])
        return Response(200, [self._stock_row([key], key[1], breakdown) for key in keys[start : start + limit]])

    def _stock_updated_since(self, request: Request, match: re.Match[str]) -> Response:
        """GET Product/StockLevels/UpdatedSince?FromDate= (card 3.6 [V]): the rows of every SKU and warehouse
        whose level changed at or after FromDate (an order allocating, a parcel leaving, a count), in the
        StockLevels shape the card gives, with Breakdown when Breakdown=true asks for it (`feed_breakdown`
        False: Breakdown null whatever is asked). No paging: every row in one answer."""
        text = _query(request, "FromDate")
        try:
            since = _parse(text)
        except ValueError:
            return Response(400, {"Message": "The request is invalid.", "Detail": f"FromDate '{text}'"})
        self.feed_calls += 1
        self._settle_stock()
        every, _ = self._sorted_stock()
        keys = [key for key in every if self._stock_updated[key].replace(microsecond=0) >= since]
        asked = _query(request, "Breakdown").strip().lower() == "true"
        breakdown = asked if self.feed_breakdown is None else self.feed_breakdown
        rows = [self._stock_row([key], key[1], breakdown) for key in keys]
        if not breakdown:
            for row in rows:
                row["Breakdown"] = None
        return Response(200, rows)

    def _sorted_stock(self) -> tuple[list[tuple[str, int]], dict[int, list[tuple[str, int]]]]:
        """Stock keys sorted by SKU then warehouse, overall and per warehouse; rebuilt when a row is added."""
        if self._stock_keys is None:
            self._stock_keys = sorted(self._stock)
            by_warehouse: dict[int, list[tuple[str, int]]] = defaultdict(list)
            for key in self._stock_keys:
                by_warehouse[key[1]].append(key)
            self._stock_by_warehouse = dict(by_warehouse)
        return self._stock_keys, self._stock_by_warehouse

    def _set_channel_stock(self, request: Request, match: re.Match[str]) -> Response:
        """POST Product/ChannelStockLevels: INFERRED, no public document (a question for Scend: which
        endpoint sets the sellable figure the channels see, and does it take a batch?). Modelled as a
        JSON array of {SKU, WarehouseId, Quantity}, at most 100 rows (more, or a body that is not an
        array: HTTP 400 and nothing applied), answered with HTTP 200 and one {SKU, WarehouseId, Success,
        Message} per row; a refused row (unknown SKU or warehouse, bad quantity) leaves the others applied."""
        self.channel_writes += 1
        body = request.body
        if not isinstance(body, list) or not body:
            return Response(
                400,
                {
                    "Message": "The request is invalid.",
                    "Detail": "expected a non-empty JSON array of {SKU, WarehouseId, Quantity}",
                },
            )
        if len(body) > MAX_CHANNEL_ROWS:
            return Response(
                400,
                {
                    "Message": "The request is invalid.",
                    "Detail": f"at most {MAX_CHANNEL_ROWS} rows per request, got {len(body)}",
                },
            )
        results = []
        for row in body:
            item = row if isinstance(row, dict) else {}
            sku, warehouse, quantity = item.get("SKU"), item.get("WarehouseId"), item.get("Quantity")
            problem = None
            if not isinstance(sku, str) or sku not in self._products:
                problem = "Product not found"
            elif isinstance(warehouse, bool) or not isinstance(warehouse, int) or warehouse not in self.warehouses:
                problem = f"Warehouse {warehouse!r} not found"
            elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                problem = f"Quantity {quantity!r} must be a whole number 0 or more"
            else:
                self.channel_stock[(sku, warehouse)] = quantity
                self.channel_history.append((sku, warehouse, quantity))
                self.channel_rows_applied += 1
            results.append(
                {
                    "SKU": sku,
                    "WarehouseId": warehouse,
                    "Success": problem is None,
                    "Message": problem or "Stock level updated",
                }
            )
        return Response(200, results)
