"""Scend 3PL simulator: the Mintsoft-shaped order API the Scend connector speaks, on virtual time.

Shape inferred from Mintsoft, confirm with Scend (Scend API reference card). Like Mintsoft it
answers order creation with HTTP 200 and a result array whose `Success` says what happened, sits behind
a Cloudflare-style throttle (429, `Retry-After: 0`, HTML), and moves orders through the warehouse
statuses as virtual time passes, computed lazily from the clock whenever an order is read.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import defaultdict
from datetime import datetime, timedelta
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
DESPATCHED = 4
# Happy path 1 -> 15 -> 16 -> 17 -> 20 -> 4: minutes after creation at which each status is reached.
DEFAULT_STATUS_TIMINGS_MINUTES: dict[int, float] = {15: 15.0, 16: 30.0, 17: 45.0, 20: 60.0, 4: 120.0}

UNAUTHORISED = {"Message": "Authorization has been denied for this request."}
CLOUDFLARE_1015 = (
    b"<!DOCTYPE html><html><head><title>Access denied | api.scend.example used Cloudflare to restrict "
    b"access</title></head><body><h1>Error 1015</h1><h2>You are being rate limited</h2>"
    b"<p>The owner of this website has banned you temporarily from accessing this website.</p></body></html>"
)
REQUIRED_FIELDS = ("OrderNumber", "Address1", "Town", "PostCode", "Country")


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class ScendSimulator(Simulator):
    """In-memory warehouse: catalogue, orders, statuses; mounted under /api/ like Mintsoft."""

    name = "scend"

    def __init__(
        self,
        api_key: str,
        *,
        clock: Clock,
        faults: FaultPlan | None = None,
        enforce_unique_reference: bool = True,
        status_timings_minutes: dict[int, float] | None = None,
    ):
        super().__init__(clock=clock, faults=faults)
        self.api_key = api_key
        self.enforce_unique_reference = enforce_unique_reference
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
        self.route("GET", r"/api/Order/(?P<order_id>\d+)", self._get_order)
        self.route("GET", r"/api/Product/Search", self._search_products)

    # -- platform behaviour --------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("ms-apikey") != self.api_key:
            return Response(401, UNAUTHORISED)
        return None

    def throttled_response(self, request: Request) -> Response:
        return Response(429, raw=CLOUDFLARE_1015, headers={"Retry-After": "0", "Content-Type": "text/html"})

    def dispatch(self, request: Request) -> tuple[Response | None, float]:
        response, delay = super().dispatch(request)
        if response is not None and response.status == 200 and request.method == "PUT" and self._is_create(request):
            with self._lose_lock:
                if self._responses_to_lose > 0:
                    self._responses_to_lose -= 1
                    self.faults_injected[FaultKind.LOST_RESPONSE] += 1
                    return None, 0.0
        return response, delay

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
            OrderItems=items,
        )
        self._orders[order_id] = order
        self._created_at[order_id] = now
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
    def _result(
        reference: str, *, success: bool, message: str, order: dict[str, Any] | None = None
    ) -> dict[str, Any]:
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
        found = [self._read(order_id) for order_id, order in self._orders.items()
                 if text in order["OrderNumber"].lower()]
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

    # -- virtual time --------------------------------------------------------------------------
    def _advance(self, order_id: int) -> None:
        """Apply the status timetable up to the clock's now; pinned and cancelled orders stay put."""
        order = self._orders[order_id]
        if order_id in self._pinned:
            return
        created = self._created_at[order_id]
        elapsed_minutes = (self.clock.now() - created).total_seconds() / 60
        reached = [(minutes, status_id) for status_id, minutes in self.status_timings_minutes.items()
                   if minutes <= elapsed_minutes]
        if not reached:
            return
        minutes, status_id = max(reached)
        if order["OrderStatusId"] == status_id:
            return
        moment = created + timedelta(minutes=minutes)
        order["OrderStatusId"] = status_id
        order["OrderStatus"] = STATUS_NAMES[status_id]
        order["LastUpdated"] = _timestamp(moment)
        if status_id == DESPATCHED:
            order["DespatchDate"] = _timestamp(moment)
            order["TrackingNumber"] = f"SIM{order_id:010d}"
            order["TrackingURL"] = f"https://tracking.example/{order['TrackingNumber']}"

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
            self.duplicate_rejections = 0
            self._products: dict[str, dict[str, Any]] = {}
            self._orders: dict[int, dict[str, Any]] = {}
            self._created_at: dict[int, datetime] = {}
            self._pinned: set[int] = set()  # statuses set by a scenario stop following the timetable
            self._next_order_id = 50001
            self._next_product_id = 801
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

    def remove_product(self, sku: str) -> None:
        """Take a product out of the catalogue (it was deleted or renamed at the warehouse)."""
        with self.lock:
            self._products.pop(sku, None)

    def has_product(self, sku: str) -> bool:
        with self.lock:
            return sku in self._products

    def orders(self) -> list[dict[str, Any]]:
        """Every order, oldest first, with statuses brought up to the clock."""
        with self.lock:
            return [self._read(order_id) for order_id in sorted(self._orders)]

    def orders_by_reference(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for order in self.orders():
            grouped[order["OrderNumber"]].append(order)
        return dict(grouped)

    def duplicate_references(self) -> int:
        """References held by more than one order (possible only with enforce_unique_reference=False)."""
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

    def lose_next_create_responses(self, count: int = 1) -> None:
        """Scenario: the next `count` successful-or-refused PUT /api/Order calls are performed, but their
        responses never arrive (the connection drops), as after a timeout on the way back."""
        with self._lose_lock:
            self._responses_to_lose += count
