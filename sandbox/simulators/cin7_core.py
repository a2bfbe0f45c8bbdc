"""Cin7 Core API v2 stand-in: sale, saleList, me and sale fulfilments (pick, pack, ship), with Cin7's
auth, 60 calls/min limit and error shapes.

Behaviour follows the card (../shared/platforms/cin7-core.md) and, where the card points to it, the API
Blueprint (dearinventory.apib, 2024-03): errors as [{"ErrorCode", "Exception"}], 403 for bad keys, 503
"60 calls per minute" with no Retry-After when over the limit (counted per application key over a
rolling 60 s of the simulation clock), an unknown sale as an error inside HTTP 200, and dates in ISO
8601 UTC, some with 'Z' and some without. Paging takes `page` and `limit`, spelled as the card writes
them (a `Page` or `Limit` is not read). It serves only what the card lists, plus PUT sale (in the
reference, not on the card): no GET sale/fulfilment/pick|pack|ship.

GET sale leaves Order.TotalBeforeTax/Tax/Total out unless `order_totals` is on: the card lists the
lines' and charges' amounts only. POST sale/fulfilment answers the new task object (`fulfilment_answer`
"task", the card is silent) or the reference's {SaleID, Fulfilments[]} ("sale").

Fulfilments (blueprint "Sale Fulfilment*" sections): an authorised sale has one task whose stages are
NOT AVAILABLE; POST sale/fulfilment adds a task (pick DRAFT) only when every task's pick is AUTHORISED
and turns the sale into an Advanced Sale. A stage POST is refused (HTTP 400, error list) when the order
is not AUTHORISED, the TaskID is unknown, the previous stage is not AUTHORISED, the stage itself is
already authorised (pick/pack: AUTHORISED; ship: AUTHORISED or PARTIALLY AUTHORISED), a SKU is not on
the order, or a pick exceeds what is left to pick. A POST to a DRAFT stage replaces its lines. Ship
turns AUTHORISED once every packed box has a shipped line. TrackingURL is read-only (ignored on write).
Sale-level Combined*Status, CombinedTrackingNumbers and FulFilmentStatus follow the tasks. The overall
Status follows the blueprint's table for simple sales (PICKING, PICKED, PACKING, PACKED, SHIPPING);
the table names no status for "shipped, not invoiced", so a shipped sale keeps its last one: being
shipped in full shows as CombinedShippingStatus SHIPPED and FulFilmentStatus FULFILLED.
"""

from __future__ import annotations

import copy
import random
import re
import uuid
import zlib
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.simulators.base import FaultPlan, Request, Response, Simulator
from shared.clock import Clock

PREFIX = "/ExternalApi/v2/"
WINDOW = timedelta(seconds=60)
VAT_RULE = "20% (VAT on Income)"
_VAT_FRACTION = Decimal(20) / Decimal(120)  # tax inside a 20% VAT-inclusive amount
_CENT = Decimal("0.01")
_PRODUCTS = uuid.UUID("6f1c2b9e-3a51-4d7e-9c1a-0b7e5d2c4a10")

_DEFAULT_ADDRESS = {
    "Line1": "1 High Street",
    "Line2": "",
    "City": "Leeds",
    "State": "West Yorkshire",
    "Postcode": "LS1 1AA",
    "Country": "United Kingdom",
    "Company": "",
    "Contact": "Jane Smith",
    "ShipToOther": True,
}
# Canonical (snake_case) address keys the scenario code may pass, and the Cin7 field each one sets.
_ADDRESS_KEYS = {
    "line1": "Line1",
    "line2": "Line2",
    "city": "City",
    "region": "State",
    "state": "State",
    "postcode": "Postcode",
    "country": "Country",
    "company": "Company",
    "name": "Contact",
    "contact": "Contact",
}


def _error(code: int, message: str) -> list[dict[str, Any]]:
    return [{"ErrorCode": code, "Exception": message}]


def _stamp(moment: datetime, *, zone: bool = True) -> str:
    """Cin7's yyyy-MM-ddTHH:mm:ss.fff in UTC, with or without the 'Z' (responses mix both)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return text + "Z" if zone else text


def _date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT00:00:00")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.strip()))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _number(value: Decimal) -> int | float:
    """JSON number as Cin7 writes it (json has no Decimal); values carry at most 4 decimal places."""
    return int(value) if value == value.to_integral_value() else float(value)


def _vat(amount: Decimal) -> Decimal:
    return (amount * _VAT_FRACTION).quantize(_CENT, rounding=ROUND_HALF_UP)


class Cin7CoreSimulator(Simulator):
    """One Cin7 Core tenant with one API application; sales are held in memory as wire JSON."""

    name = "cin7_core"

    def __init__(
        self,
        account_id: str,
        application_key: str,
        *,
        clock: Clock,
        faults: FaultPlan | None = None,
        calls_per_minute: int = 60,
        order_totals: bool = False,
        fulfilment_answer: str = "task",
        edit_voided_sales: bool = True,
        sale_header_edits: bool = True,
    ):
        """`order_totals`: GET sale carries Order.TotalBeforeTax/Tax/Total (the reference's Sale Order model);
        off by default, as the card lists only the lines' and charges' amounts. `fulfilment_answer`: what
        POST sale/fulfilment answers, "task" (the new task object; the card is silent) or "sale" (the
        reference's example, {SaleID, Fulfilments[]}). `edit_voided_sales`: whether PUT sale changes a
        VOIDED sale (the reference does not say [I]). `sale_header_edits`: serve PUT sale at all; it is in the
        reference but not on the card, so a test turns it off (405, as a card-faithful Cin7 answered)."""
        if fulfilment_answer not in ("task", "sale"):
            raise ValueError(f"fulfilment_answer must be 'task' or 'sale', got {fulfilment_answer!r}")
        super().__init__(clock=clock, faults=faults)
        self.order_totals = order_totals
        self.fulfilment_answer = fulfilment_answer
        self.edit_voided_sales = edit_voided_sales
        self.sale_header_edits = sale_header_edits
        self.account_id = account_id
        self.application_key = application_key
        self.calls_per_minute = calls_per_minute
        self.throttled = 0  # 503s answered, from the real limit and from injected faults
        self._calls: dict[str, deque[datetime]] = defaultdict(deque)
        self._sales: dict[str, dict[str, Any]] = {}
        self._sequence: dict[str, int] = {}  # insertion order, to order equal Updated stamps
        self._ids = random.Random(f"cin7:{account_id}")
        self._task_ids = random.Random(f"cin7-task:{account_id}")  # apart, so sale ids stay as they were
        self._tasks: dict[str, str] = {}  # TaskID -> SaleID
        self.tasks_added: list[str] = []  # TaskIDs created by POST sale/fulfilment, in order
        self.notes_written = 0  # PUT sale calls that changed a Note
        # Every request by (flow, reason): the flow is the hop named in the User-Agent the connector sends
        # (hopline/<hop>), the reason the endpoint and what its query asks for (sandbox.budget tabulates it).
        self.calls: Counter[tuple[str, str]] = Counter()
        self.throttled_by_flow: Counter[str] = Counter()
        self.locations: set[str] = set()  # stock locations picks may name: every sale's Location is added
        self.route("GET", rf"{PREFIX}sale", self._get_sale)
        self.route("PUT", rf"{PREFIX}sale", self._put_sale, writes=True)
        self.route("DELETE", rf"{PREFIX}sale", self._delete_sale, writes=True)
        self.route("GET", rf"{PREFIX}saleList", self._get_sale_list)
        self.route("GET", rf"{PREFIX}me", self._get_me)
        self.route("GET", rf"{PREFIX}product", self._get_products)
        self._products: dict[str, dict[str, Any]] = {}
        self.route("GET", rf"{PREFIX}sale/fulfilment", self._get_fulfilments)
        self.route("POST", rf"{PREFIX}sale/fulfilment", self._add_fulfilment, writes=True)
        self.route("POST", rf"{PREFIX}sale/fulfilment/(?P<stage>pick|pack|ship)", self._post_stage, writes=True)
        # Stock: on hand per (SKU, location name); allocated kept per sale so a page never rescans sales.
        self._on_hand: dict[tuple[str, str], Decimal] = {}
        self._two_bins: set[tuple[str, str]] = set()  # stock rows reported as two Bin rows
        self._allocated: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self._sale_allocated: dict[str, dict[tuple[str, str], Decimal]] = {}
        self._sale_shipped: dict[str, dict[str, Decimal]] = {}  # units already taken off on hand
        self._rows: list[tuple[str, str, int]] | None = None  # (SKU, location, bin index), sorted; rebuilt lazily
        self._spans: dict[str, tuple[int, int]] = {}  # SKU -> its slice of self._rows
        self._product_ids: dict[str, str] = {}
        self._sku_products: dict[str, dict[str, Any]] | None = None  # SKU -> catalogue product, rebuilt lazily
        self.route("GET", rf"{PREFIX}ref/productavailability", self._get_availability)

    # -- platform behaviour --------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        account = request.headers.get("api-auth-accountid", "")
        key = request.headers.get("api-auth-applicationkey", "")
        if account != self.account_id or key != self.application_key:
            return Response(403, _error(403, "Incorrect credentials! Check api-auth-accountid/api-auth-applicationkey"))
        return None

    def dispatch(self, request: Request) -> tuple[Response | None, float]:
        flow = call_flow(request.headers.get("user-agent", ""))
        with self.lock:
            self.calls[(flow, call_reason(request.method, request.path, request.query))] += 1
        response, delay = super().dispatch(request)
        if response is not None and response.status == 503:
            with self.lock:
                self.throttled_by_flow[flow] += 1
        return response, delay

    def before_request(self, request: Request) -> Response | None:
        """60 calls per rolling minute per application key; throttled calls do not use up the allowance."""
        key = request.headers.get("api-auth-applicationkey", "")
        with self.lock:
            now = self.clock.now()
            window = self._calls[key]
            while window and now - window[0] >= WINDOW:
                window.popleft()
            if len(window) >= self.calls_per_minute:
                return self._throttle()
            window.append(now)
        return None

    def throttled_response(self, request: Request) -> Response:
        with self.lock:
            return self._throttle()

    def _throttle(self) -> Response:
        self.throttled += 1
        return Response(503, _error(503, f"{self.calls_per_minute} calls per minute"))

    # -- routes --------------------------------------------------------------------------------
    def _get_me(self, request: Request, match: re.Match[str]) -> Response:
        return Response(
            200,
            {
                "Company": "Hopline Sandbox Ltd",
                "Currency": "GBP",
                "TimeZone": "Europe/London",
                "DefaultWeightUnits": "g",
                "DefaultDimensionsUnits": "cm",
                "LockDate": None,
                "OpeningBalanceDate": "2026-01-01T00:00:00",
                "TaxCalculationMethod": "Total",
                "DefaultSaleTaxRuleName": VAT_RULE,
            },
        )

    def _get_sale(self, request: Request, match: re.Match[str]) -> Response:
        sale_id = _query(request, "ID").strip()
        if not sale_id:
            return Response(400, _error(400, "ID is required"))
        try:
            key = str(uuid.UUID(sale_id))
        except ValueError:
            return Response(400, _error(400, f"'{sale_id}' is not a valid Guid"))
        sale = self._sales.get(key)
        if sale is None:
            # Cin7 reports a missing sale as an error list inside HTTP 200.
            return Response(200, _error(404, f"Sale with ID = '{sale_id}' not found"))
        return Response(200, self._read_sale(sale))

    def _read_sale(self, sale: dict[str, Any]) -> dict[str, Any]:
        """The sale as GET sale answers it: without Order totals unless `order_totals` is on."""
        body = copy.deepcopy(sale)
        if not self.order_totals:
            for field in ("TotalBeforeTax", "Tax", "Total"):
                body["Order"].pop(field, None)
        return body

    def _put_sale(self, request: Request, match: re.Match[str]) -> Response:
        """PUT sale: update the header (reference: Sale [/sale] PUT and the Sale POST/PUT attributes).

        ID is required for PUT; Location and Customer (or CustomerID) are marked required. Only header
        attributes of that table are taken; lines and stages have their own endpoints. A VOIDED sale
        refuses the edit when `edit_voided_sales` is off (undocumented either way [I])."""
        if not self.sale_header_edits:
            return Response(405, _error(405, "The requested resource does not support http method 'PUT'."))
        body = request.body if isinstance(request.body, dict) else {}
        sale = self._sales.get(str(body.get("ID") or "").lower())
        if sale is None:
            return Response(200, _error(404, f"Sale with ID = '{body.get('ID')}' not found"))
        unknown = sorted(set(body) - _HEADER_ATTRIBUTES)
        if unknown:
            return Response(400, _error(400, f"Unknown sale attributes: {', '.join(unknown)}"))
        if not str(body.get("Location") or "").strip():
            return Response(400, _error(400, "Location is required"))
        if not str(body.get("Customer") or body.get("CustomerID") or "").strip():
            return Response(400, _error(400, "Customer or CustomerID is required"))
        if "Note" in body and (not isinstance(body["Note"], str) or len(body["Note"]) > 1024):
            return Response(400, _error(400, "Note must be a string of at most 1024 characters"))
        if sale["Status"] == VOIDED and not self.edit_voided_sales:
            return Response(400, _error(400, f"Sale {sale['ID']} is VOIDED and cannot be changed"))
        changed = {key: value for key, value in body.items() if key != "ID" and sale.get(key) != value}
        sale.update(copy.deepcopy(changed))
        if "Note" in changed:
            self.notes_written += 1
        self._touch(sale)
        return Response(200, self._read_sale(sale))

    def _delete_sale(self, request: Request, match: re.Match[str]) -> Response:
        """DELETE sale?ID=&Void=true voids the sale (Status and Order.Status VOIDED) [V]."""
        sale = self._sales.get(_query(request, "ID").strip().lower())
        if sale is None:
            return Response(200, _error(404, f"Sale with ID = '{_query(request, 'ID')}' not found"))
        if _query(request, "Void").lower() != "true":
            return Response(400, _error(400, "Only Void=true is modelled by this simulator"))
        self._void(sale)
        return Response(200, copy.deepcopy(sale))

    def _void(self, sale: dict[str, Any]) -> None:
        sale["Status"] = VOIDED
        sale["Order"]["Status"] = VOIDED
        self._allocate(sale)  # a voided sale gives its allocation back
        self._touch(sale)

    def _touch(self, sale: dict[str, Any]) -> None:
        sale["LastModifiedOn"] = _stamp(self.clock.now())
        self._sequence[sale["ID"]] = max(self._sequence.values()) + 1

    def _get_sale_list(self, request: Request, match: re.Match[str]) -> Response:
        try:
            page = int(request.query.get("page") or 1)
            limit = int(request.query.get("limit") or 100)
        except ValueError:
            return Response(400, _error(400, "Page and Limit must be integers"))
        if page < 1:
            return Response(400, _error(400, "Page must be 1 or greater"))
        if not 1 <= limit <= 1000:
            return Response(400, _error(400, "Limit must be between 1 and 1000"))
        try:
            updated_since = _optional_date(_query(request, "UpdatedSince"))
            created_since = _optional_date(_query(request, "CreatedSince"))
        except ValueError as exc:
            return Response(400, _error(400, str(exc)))
        rows = []
        for sale_id in sorted(self._sales, key=self._list_order):
            sale = self._sales[sale_id]
            row = self._row(sale)
            if updated_since and _parse(row["Updated"]) <= updated_since:
                continue  # "changed after the specified date"
            if created_since and _parse(sale["SaleOrderDate"]) <= created_since:
                continue
            if not _matches(request, row):
                continue
            rows.append(row)
        start = (page - 1) * limit
        return Response(200, {"Total": len(rows), "Page": page, "SaleList": rows[start : start + limit]})

    def _list_order(self, sale_id: str) -> tuple[datetime, int]:
        return _parse(self._sales[sale_id]["LastModifiedOn"]), self._sequence[sale_id]

    @staticmethod
    def _row(sale: dict[str, Any]) -> dict[str, Any]:
        order = sale.get("Order") or {}
        return {
            "SaleID": sale["ID"],
            "OrderNumber": order.get("SaleOrderNumber", ""),
            "Status": sale["Status"],
            "OrderDate": sale["SaleOrderDate"],
            "InvoiceDate": None,
            "Customer": sale["Customer"],
            "CustomerID": sale["CustomerID"],
            "InvoiceNumber": None,
            "CustomerReference": sale["CustomerReference"],
            "InvoiceAmount": 0,
            "PaidAmount": 0,
            "InvoiceDueDate": None,
            "ShipBy": sale["ShipBy"],
            "BaseCurrency": sale["BaseCurrency"],
            "CustomerCurrency": sale["CustomerCurrency"],
            "CreditNoteNumber": None,
            "Updated": sale["LastModifiedOn"],
            "QuoteStatus": (sale.get("Quote") or {}).get("Status", "NOT AVAILABLE"),
            "OrderStatus": order.get("Status", "NOT AVAILABLE"),
            "CombinedPickingStatus": sale["CombinedPickingStatus"],
            "CombinedPaymentStatus": sale["CombinedPaymentStatus"],
            "CombinedTrackingNumbers": sale["CombinedTrackingNumbers"],
            "CombinedPackingStatus": sale["CombinedPackingStatus"],
            "CombinedShippingStatus": sale["CombinedShippingStatus"],
            "CombinedInvoiceStatus": sale["CombinedInvoiceStatus"],
            "CreditNoteStatus": "NOT AVAILABLE",
            "FulFilmentStatus": sale["FulFilmentStatus"],
            "Type": sale["Type"],
            "SourceChannel": sale["SourceChannel"],
            "ExternalID": sale["ExternalID"],
            "OrderLocationID": sale["OrderLocationID"],
        }

    # -- fulfilment routes -----------------------------------------------------------------------
    def _get_fulfilments(self, request: Request, match: re.Match[str]) -> Response:
        sale, refused = self._sale_for(_query(request, "SaleID"))
        if sale is None:
            return refused
        return Response(200, {"SaleID": sale["ID"], "Fulfilments": copy.deepcopy(sale["Fulfilments"])})

    def _add_fulfilment(self, request: Request, match: re.Match[str]) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        sale, refused = self._sale_for(str(body.get("SaleID") or ""))
        if sale is None:
            return refused
        if sale["Order"]["Status"] != AUTHORISED:
            return Response(400, _error(400, f"Sale order status is {sale['Order']['Status']}, not AUTHORISED"))
        waiting = [task for task in sale["Fulfilments"] if task["Pick"]["Status"] not in (AUTHORISED, VOIDED)]
        if waiting:
            return Response(
                400,
                _error(
                    400,
                    (
                        "New Fulfilment Task can be created only if there are no fulfilment tasks with non AUTHORISED "
                        f"Pick status (task {waiting[0]['FulfillmentNumber']} is {waiting[0]['Pick']['Status']})"
                    ),
                ),
            )
        task = self._new_task(sale, pick_status="DRAFT")
        sale["Type"] = "Advanced Sale"
        self._refresh(sale)
        self.tasks_added.append(task["TaskID"])
        if self.fulfilment_answer == "task":
            return Response(200, copy.deepcopy(task))
        return Response(200, {"SaleID": sale["ID"], "Fulfilments": copy.deepcopy(sale["Fulfilments"])})

    def _post_stage(self, request: Request, match: re.Match[str]) -> Response:
        stage = match.group("stage").lower()
        body = request.body
        if not isinstance(body, dict):
            return Response(400, _error(400, "The request body must be a JSON object"))
        task, sale, refused = self._task_for(str(body.get("TaskID") or ""), missing_status=400)
        if task is None or sale is None:
            return refused
        if sale["Order"]["Status"] != AUTHORISED:
            return Response(400, _error(400, f"Sale order status is {sale['Order']['Status']}, not AUTHORISED"))
        if "AutoPickMode" in body:
            return Response(400, _error(400, "AutoPickMode is not supported by this simulator"))
        status = str(body.get("Status") or "").strip().upper()
        allowed = ("DRAFT", PARTLY, AUTHORISED) if stage == "ship" else ("DRAFT", AUTHORISED)
        if status not in allowed:
            return Response(400, _error(400, f"Status must be one of {', '.join(allowed)}, got '{status}'"))
        lines = body.get("Lines")
        if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
            return Response(400, _error(400, "Lines must be a list of objects"))
        handler = {"pick": self._pick, "pack": self._pack, "ship": self._ship}[stage]
        problem = handler(sale, task, status, lines)
        if problem:
            return Response(400, _error(400, problem))
        self._refresh(sale)
        return Response(200, {"TaskID": task["TaskID"], **copy.deepcopy(task[stage.title()])})

    # -- stage rules -------------------------------------------------------------------------------
    def _pick(self, sale: dict[str, Any], task: dict[str, Any], status: str, lines: list[dict[str, Any]]) -> str | None:
        if task["Pick"]["Status"] not in ("DRAFT", NOT_AVAILABLE):
            return f"Pick status is {task['Pick']['Status']}: the pick of this task cannot be changed"
        if status == AUTHORISED and not lines:
            return "Lines are required to authorise a pick"
        ordered = _ordered(sale)
        built: list[dict[str, Any]] = []
        wanted: dict[str, Decimal] = defaultdict(Decimal)
        for line in lines:
            sku, problem = self._sku_on_order(sale, line)
            if problem:
                return problem
            location = str(line.get("Location") or "").strip()
            if not location:
                return f"Location is required for SKU '{sku}'"
            if location not in self.locations:
                return f"Location '{location}' not found"
            quantity, problem = _quantity(line, sku)
            if problem:
                return problem
            wanted[sku] += quantity
            built.append(self._stock_line(sku, location, quantity))
        for sku, quantity in wanted.items():
            elsewhere = sum(
                (
                    _decimal(other["Quantity"])
                    for t in sale["Fulfilments"]
                    if t is not task and t["Pick"]["Status"] != VOIDED
                    for other in t["Pick"]["Lines"]
                    if other["SKU"] == sku
                ),
                Decimal(0),
            )
            left = ordered[sku] - elsewhere
            if quantity > left:
                return (
                    f"Pick quantity {_number(quantity)} of SKU '{sku}' exceeds the {_number(left)} left to pick "
                    f"(ordered {_number(ordered[sku])}, picked on other tasks {_number(elsewhere)})"
                )
        task["Pick"] = {"Status": status, "Lines": built}
        return None

    def _pack(self, sale: dict[str, Any], task: dict[str, Any], status: str, lines: list[dict[str, Any]]) -> str | None:
        if task["Pick"]["Status"] != AUTHORISED:
            return f"Pick status is {task['Pick']['Status']}: pick must be AUTHORISED before packing"
        if task["Pack"]["Status"] not in ("DRAFT", NOT_AVAILABLE):
            return f"Pack status is {task['Pack']['Status']}: the pack of this task cannot be changed"
        if status == AUTHORISED and not lines:
            return "Lines are required to authorise a pack"
        picked: dict[str, Decimal] = defaultdict(Decimal)
        for line in task["Pick"]["Lines"]:
            picked[line["SKU"]] += _decimal(line["Quantity"])
        built: list[dict[str, Any]] = []
        wanted: dict[str, Decimal] = defaultdict(Decimal)
        for line in lines:
            sku, problem = self._sku_on_order(sale, line)
            if problem:
                return problem
            if sku not in picked:
                return f"SKU '{sku}' is not picked on this task"
            box = str(line.get("Box") or "").strip()
            if not box:
                return f"Box is required for SKU '{sku}'"
            quantity, problem = _quantity(line, sku)
            if problem:
                return problem
            wanted[sku] += quantity
            location = str(line.get("Location") or "").strip() or sale["Location"]
            built.append({**self._stock_line(sku, location, quantity), "Box": box, "WarrantyRegistrationNumber": None})
        for sku, quantity in wanted.items():
            if quantity > picked[sku]:
                return (
                    f"Pack quantity {_number(quantity)} of SKU '{sku}' exceeds the {_number(picked[sku])} "
                    "picked on this task"
                )
        task["Pack"] = {"Status": status, "Lines": built}
        return None

    def _ship(self, sale: dict[str, Any], task: dict[str, Any], status: str, lines: list[dict[str, Any]]) -> str | None:
        if task["Pack"]["Status"] != AUTHORISED:
            return f"Pack status is {task['Pack']['Status']}: pack must be AUTHORISED before shipping"
        if task["Ship"]["Status"] in (AUTHORISED, PARTLY):
            return f"Ship status is {task['Ship']['Status']}: the shipment of this task is already authorised"
        boxes = list(dict.fromkeys(line["Box"] for line in task["Pack"]["Lines"]))
        built = []
        for line in lines:
            box = str(line.get("Box") or "").strip()
            if box not in boxes:
                return f"Box '{box}' is not packed on this task" if box else "Box is required on every ship line"
            try:
                shipped_on = _parse(str(line.get("ShipmentDate") or ""))
            except ValueError:
                return f"ShipmentDate '{line.get('ShipmentDate')}' is not a valid date"
            is_shipped = line.get("IsShipped", False)
            if not isinstance(is_shipped, bool):
                return "IsShipped must be true or false"
            built.append(
                {
                    "ID": self._guid(),
                    "ShipmentDate": _stamp(shipped_on, zone=False),
                    "Carrier": str(line.get("Carrier") or ""),
                    "Boxes": box,
                    "TrackingNumber": str(line.get("TrackingNumber") or ""),
                    "TrackingURL": "",  # read-only in the API
                    "IsShipped": is_shipped,
                }
            )
        shipped = {line["Boxes"] for line in built if line["IsShipped"]}
        if status != "DRAFT":
            if not shipped:
                return "No ship line is marked IsShipped"
            # Cin7 authorises the shipment by itself once every packed box is shipped.
            status = AUTHORISED if set(boxes) <= shipped else PARTLY
        task["Ship"] = {**task["Ship"], "Status": status, "Lines": built}
        task["FulFilmentStatus"] = "FULFILLED" if status == AUTHORISED else "NOT FULFILLED"
        return None

    # -- fulfilment helpers --------------------------------------------------------------------------
    def _sale_for(self, sale_id: str) -> tuple[dict[str, Any] | None, Response]:
        if not sale_id.strip():
            return None, Response(400, _error(400, "SaleID is required"))
        try:
            key = str(uuid.UUID(sale_id.strip()))
        except ValueError:
            return None, Response(400, _error(400, f"'{sale_id}' is not a valid Guid"))
        sale = self._sales.get(key)
        if sale is None:
            return None, Response(200, _error(404, f"Sale with ID = '{sale_id}' not found"))
        return sale, Response(200)

    def _task_for(
        self, task_id: str, *, missing_status: int
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, Response]:
        if not task_id.strip():
            return None, None, Response(400, _error(400, "TaskID is required"))
        try:
            key = str(uuid.UUID(task_id.strip()))
        except ValueError:
            return None, None, Response(400, _error(400, f"'{task_id}' is not a valid Guid"))
        sale_id = self._tasks.get(key)
        if sale_id is None:
            code = 404 if missing_status == 200 else 400
            return None, None, Response(missing_status, _error(code, f"Sale task with TaskID = '{task_id}' not found"))
        sale = self._sales[sale_id]
        task = next(task for task in sale["Fulfilments"] if task["TaskID"] == key)
        return task, sale, Response(200)

    @staticmethod
    def _sku_on_order(sale: dict[str, Any], line: dict[str, Any]) -> tuple[str, str | None]:
        sku = str(line.get("SKU") or "")
        product = str(line.get("ProductID") or "")
        for order_line in sale["Order"]["Lines"]:
            if (sku and order_line["SKU"] == sku) or (not sku and product and order_line["ProductID"] == product):
                return order_line["SKU"], None
        return sku, f"Product with SKU '{sku or product}' is not on sale order {sale['Order']['SaleOrderNumber']}"

    @staticmethod
    def _stock_line(sku: str, location: str, quantity: Decimal) -> dict[str, Any]:
        return {
            "ProductID": str(uuid.uuid5(_PRODUCTS, f"product:{sku}")),
            "SKU": sku,
            "Name": sku.replace("-", " ").title(),
            "Location": location,
            "LocationID": str(uuid.uuid5(_PRODUCTS, f"location:{location}")),
            "Quantity": _number(quantity),
            "BatchSN": None,
            "ExpiryDate": None,
            "NonInventory": False,
        }

    def _guid(self) -> str:
        return str(uuid.UUID(int=self._task_ids.getrandbits(128), version=4))

    def _ensure_task(self, sale: dict[str, Any]) -> None:
        """An authorised sale has its first fulfilment task, every stage NOT AVAILABLE (status ORDERED)."""
        if sale["Order"]["Status"] == AUTHORISED and not sale["Fulfilments"]:
            self._new_task(sale, pick_status=NOT_AVAILABLE)

    def _new_task(self, sale: dict[str, Any], *, pick_status: str) -> dict[str, Any]:
        task_id = self._guid()
        task = {
            "TaskID": task_id,
            "FulfillmentNumber": max((t["FulfillmentNumber"] for t in sale["Fulfilments"]), default=0) + 1,
            "LinkedInvoiceNumber": None,
            "FulFilmentStatus": "NOT FULFILLED",
            "Pick": {"Status": pick_status, "Lines": []},
            "Pack": {"Status": NOT_AVAILABLE, "Lines": []},
            "Ship": {
                "Status": NOT_AVAILABLE,
                "RequireBy": None,
                "ShippingAddress": copy.deepcopy(sale["ShippingAddress"]),
                "ShippingNotes": "",
                "Lines": [],
            },
        }
        sale["Fulfilments"].append(task)
        self._tasks[task_id] = sale["ID"]
        return task

    def _refresh(self, sale: dict[str, Any]) -> None:
        """Sale-level statuses and tracking numbers from the tasks; LastModifiedOn moves on."""
        ordered = _ordered(sale)
        picked: dict[str, Decimal] = defaultdict(Decimal)
        packed: dict[str, Decimal] = defaultdict(Decimal)
        for task in sale["Fulfilments"]:
            if task["Pick"]["Status"] == AUTHORISED:
                for line in task["Pick"]["Lines"]:
                    picked[line["SKU"]] += _decimal(line["Quantity"])
            if task["Pack"]["Status"] == AUTHORISED:
                for line in task["Pack"]["Lines"]:
                    packed[line["SKU"]] += _decimal(line["Quantity"])
        shipped = _shipped(sale)
        sale["CombinedPickingStatus"] = _combined(ordered, picked, "PICKED")
        sale["CombinedPackingStatus"] = _combined(ordered, packed, "PACKED")
        sale["CombinedShippingStatus"] = _combined(ordered, shipped, "SHIPPED")
        sale["FulFilmentStatus"] = _combined(ordered, shipped, "FULFILLED")
        sale["CombinedTrackingNumbers"] = ", ".join(_tracking(sale))
        if sale["Type"] == "Simple Sale" and sale["Status"] in _SIMPLE_CHAIN and sale["Fulfilments"]:
            sale["Status"] = _simple_status(sale["Fulfilments"][0]) or sale["Status"]
        sale["LastModifiedOn"] = _stamp(self.clock.now())
        self._sequence[sale["ID"]] = max(self._sequence.values()) + 1
        self._allocate(sale)

    # -- fulfilment inspection helpers (plain Python, not HTTP) ------------------------------------
    def fulfilments(self, sale_id: str) -> list[dict[str, Any]]:
        """A copy of the sale's Fulfilments[] as GET sale/fulfilment returns it."""
        with self.lock:
            return copy.deepcopy(self._sales[self._key(sale_id)]["Fulfilments"])

    def shipped_quantities(self, sale_id: str) -> dict[str, Decimal]:
        """Units shipped per SKU (packed quantities of boxes with a shipped line); SKUs with none are left out."""
        with self.lock:
            return {sku: quantity for sku, quantity in _shipped(self._sales[self._key(sale_id)]).items() if quantity}

    def tracking_numbers(self, sale_id: str) -> list[str]:
        """Tracking numbers on shipped lines, in task and line order, each once."""
        with self.lock:
            return _tracking(self._sales[self._key(sale_id)])

    # -- scenario helpers (plain Python, not HTTP) -----------------------------------------------
    def add_sale(
        self,
        *,
        order_number: str,
        lines: list[tuple[str, int, Decimal]],
        address: dict[str, Any] | None = None,
        carrier: str = "Royal Mail Tracked 48",
        location: str = "Scend UK",
        status: str = "ORDERED",
        order_status: str = "AUTHORISED",
        currency: str = "GBP",
        customer: str = "Web Customers",
        email: str = "",
        phone: str = "",
        shipping: Decimal = Decimal("0"),
        customer_reference: str = "",
    ) -> str:
        """Create an authorised simple sale (20% VAT inclusive) and return its ID."""
        with self.lock:
            sale_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
            now = self.clock.now()
            order_lines = [self._line(sku, quantity, Decimal(price)) for sku, quantity, price in lines]
            charges = [self._charge("Shipping", Decimal(shipping))] if Decimal(shipping) else []
            total = sum((Decimal(str(item["Total"])) for item in order_lines + charges), Decimal(0))
            tax = sum((Decimal(str(item["Tax"])) for item in order_lines + charges), Decimal(0))
            # No address: a default UK one. An address given: exactly its fields, the rest blank.
            base = _DEFAULT_ADDRESS if address is None else {**dict.fromkeys(_DEFAULT_ADDRESS, ""), "ShipToOther": True}
            shipping_address = {**base, **_wire_address(address or {})}
            shipping_address = {
                "DisplayAddressLine1": " ".join(filter(None, [shipping_address["Line1"], shipping_address["Line2"]])),
                "DisplayAddressLine2": " ".join(
                    filter(
                        None,
                        [
                            shipping_address["City"],
                            shipping_address["State"],
                            shipping_address["Postcode"],
                            shipping_address["Country"],
                        ],
                    )
                ),
                **shipping_address,
            }
            contact = shipping_address["Contact"]
            self._sales[sale_id] = {
                "ID": sale_id,
                "Customer": customer,
                "CustomerID": str(uuid.uuid5(_PRODUCTS, f"customer:{customer}")),
                "Contact": contact,
                "Phone": phone,
                "Email": email,
                "DefaultAccount": "4000",
                "SkipQuote": True,
                "BillingAddress": {
                    k: v for k, v in shipping_address.items() if k not in ("Company", "Contact", "ShipToOther")
                },
                "ShippingAddress": shipping_address,
                "ShippingNotes": "",
                "BaseCurrency": "GBP",
                "CustomerCurrency": currency,
                "TaxRule": VAT_RULE,
                "TaxCalculation": "Inclusive",
                "Terms": "Prepaid",
                "PriceTier": "Tier 1",
                "ShipBy": None,
                "Location": location,
                "SaleOrderDate": _date(now),
                "LastModifiedOn": _stamp(now),
                "Note": "",
                "CustomerReference": customer_reference,
                "COGSAmount": 0,
                "Status": status,
                "CombinedPickingStatus": "NOT PICKED",
                "CombinedPackingStatus": "NOT PACKED",
                "CombinedShippingStatus": "NOT SHIPPED",
                "FulFilmentStatus": "NOT FULFILLED",
                "CombinedInvoiceStatus": "NOT INVOICED",
                "CombinedPaymentStatus": "PAID",
                "CombinedTrackingNumbers": "",
                "Carrier": carrier,
                "CurrencyRate": 1,
                "SalesRepresentative": "",
                "ServiceOnly": False,
                "Type": "Simple Sale",
                "SourceChannel": None,
                "ExternalID": None,
                "OrderLocationID": str(uuid.uuid5(_PRODUCTS, f"location:{location}")),
                "Quote": {
                    "Memo": "",
                    "Status": "NOT AVAILABLE",
                    "Prepayments": [],
                    "Lines": [],
                    "AdditionalCharges": [],
                    "TotalBeforeTax": 0,
                    "Tax": 0,
                    "Total": 0,
                },
                "Order": {
                    "SaleOrderNumber": order_number,
                    "Memo": "",
                    "Status": order_status,
                    "Lines": order_lines,
                    "AdditionalCharges": charges,
                    "TotalBeforeTax": _number(total - tax),
                    "Tax": _number(tax),
                    "Total": _number(total),
                },
                "Fulfilments": [],
                "Invoices": [],
                "CreditNotes": [],
                "ManualJournals": {"Status": "NOT AVAILABLE", "Lines": []},
                "AdditionalAttributes": {f"AdditionalAttribute{n}": "" for n in range(1, 11)},
                "Attachments": [],
                "InventoryMovements": [],
            }
            self._sequence[sale_id] = len(self._sequence)
            self.locations.add(location)
            self._ensure_task(self._sales[sale_id])
            self._allocate(self._sales[sale_id])
            return sale_id

    def update_sale(self, sale_id: str, **fields: Any) -> None:
        """Change top-level wire fields (dicts merge one level); `OrderStatus` sets Order.Status."""
        with self.lock:
            sale = self._sales[self._key(sale_id)]
            for name, value in fields.items():
                if name == "OrderStatus":
                    sale["Order"]["Status"] = value
                elif isinstance(value, dict) and isinstance(sale.get(name), dict):
                    sale[name] = {**sale[name], **copy.deepcopy(value)}
                else:
                    sale[name] = copy.deepcopy(value)
            self._ensure_task(sale)
            sale["LastModifiedOn"] = _stamp(self.clock.now())
            self._sequence[sale["ID"]] = max(self._sequence.values()) + 1
            self._allocate(sale)

    # -- products ----------------------------------------------------------------------------------
    def add_product(
        self,
        sku: str,
        name: str,
        *,
        barcode: str = "",
        weight: Decimal | None = None,
        length: Decimal | None = None,
        width: Decimal | None = None,
        height: Decimal | None = None,
        status: str = "Active",
    ) -> str:
        """Create a stock product (kg, cm) and return its ID; LastModifiedOn is the clock's now."""
        with self.lock:
            product_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
            self._products[product_id] = {
                "ID": product_id,
                "SKU": sku,
                "Name": name,
                "Barcode": barcode,
                "Type": "Stock",
                "UOM": "Item",
                "Status": status,
                "Weight": _number(weight) if weight is not None else 0,
                "WeightUnits": "kg",
                "Length": _number(length) if length is not None else 0,
                "Width": _number(width) if width is not None else 0,
                "Height": _number(height) if height is not None else 0,
                "DimensionsUnits": "cm",
                "LastModifiedOn": _stamp(self.clock.now()),
            }
            self._catalogue_changed()
            return product_id

    def update_product(self, product_id_or_sku: str, **fields: Any) -> None:
        """Change wire fields of a product (by ID or exact SKU), e.g. Name=, Weight=, WeightUnits="g",
        Status="Deprecated"; bumps LastModifiedOn. KeyError when there is no such product."""
        with self.lock:
            product = self._products.get(product_id_or_sku.lower()) or next(
                (p for p in self._products.values() if p["SKU"] == product_id_or_sku), None
            )
            if product is None:
                raise KeyError(f"no product {product_id_or_sku!r}")
            product.update(copy.deepcopy(fields))
            product["LastModifiedOn"] = _stamp(self.clock.now())
            self._catalogue_changed()

    def _get_products(self, request: Request, match: re.Match[str]) -> Response:
        try:
            page = int(request.query.get("page") or 1)
            limit = int(request.query.get("limit") or 100)
            modified_since = _optional_date(_query(request, "ModifiedSince"))
        except ValueError as exc:
            return Response(400, _error(400, str(exc)))
        if page < 1 or not 1 <= limit <= 1000:
            return Response(400, _error(400, "Page must be >= 1 and Limit between 1 and 1000"))
        # Sku and Name match partially (case-insensitive), ModifiedSince strictly after; deprecated
        # products only with IncludeDeprecated=true (Cin7's default leaves them out).
        sku = _query(request, "Sku").lower()
        name = _query(request, "Name").lower()
        wanted_id = _query(request, "ID").lower()
        deprecated = _query(request, "IncludeDeprecated").lower() == "true"
        rows = [
            copy.deepcopy(p)
            for p in sorted(self._products.values(), key=lambda p: (p["LastModifiedOn"], p["SKU"]))
            if (not modified_since or _parse(p["LastModifiedOn"]) > modified_since)
            and (not sku or sku in p["SKU"].lower())
            and (not name or name in str(p["Name"]).lower())
            and (not wanted_id or p["ID"] == wanted_id)
            and (deprecated or p["Status"] != "Deprecated")
        ]
        start = (page - 1) * limit
        return Response(200, {"Total": len(rows), "Page": page, "Products": rows[start : start + limit]})

    # -- stock -------------------------------------------------------------------------------------
    # Available = OnHand - Allocated per (SKU, location name). Allocated is what authorised (not voided)
    # sales at that location still have to ship; shipped units leave on hand and allocated together.
    # Everything happens at the sale's Location (picks from elsewhere are not modelled). Rows are listed
    # sorted by SKU, location and bin; some stock rows are reported as two Bin rows, as Cin7 does for a
    # location with bins, so a client has to sum rows per SKU and location.

    def set_stock(self, sku: str, location: str, on_hand: Decimal | int | str, *, two_bins: bool | None = None) -> None:
        """Set on hand for a SKU at a location (creating the stock row). `two_bins` reports the row as
        two Bin rows; left None, a new row gets two bins for about one SKU in five (by a hash of the SKU)."""
        if not sku or not location.strip():
            raise ValueError("set_stock needs a SKU and a location name")
        with self.lock:
            key = (sku, location)
            if key not in self._on_hand:
                self._rows = None
                if two_bins is None:
                    two_bins = zlib.crc32(sku.encode()) % 5 == 0
            if two_bins is not None and two_bins != (key in self._two_bins):
                self._rows = None
                if two_bins:
                    self._two_bins.add(key)
                else:
                    self._two_bins.discard(key)
            self._on_hand[key] = _decimal(on_hand)
            self.locations.add(location)

    def adjust_stock(self, sku: str, location: str, delta: Decimal | int | str) -> None:
        """Add `delta` (negative to take away) to on hand; a SKU with no row there starts from 0."""
        with self.lock:
            current = self._on_hand.get((sku, location), Decimal(0))
            self.set_stock(sku, location, current + _decimal(delta))

    def availability(self, sku: str, location: str) -> Decimal:
        """The truth a stock read should report: Available = on hand - allocated (0 on hand without a row)."""
        with self.lock:
            key = (sku, location)
            return self._on_hand.get(key, Decimal(0)) - self._allocated.get(key, Decimal(0))

    def allocated(self, sku: str, location: str) -> Decimal:
        with self.lock:
            return self._allocated.get((sku, location), Decimal(0))

    def stock_webhook_payload(self, skus: list[str]) -> list[dict[str, Any]]:
        """The body Cin7 posts for Stock/AvailableStockLevelChanged: a bare array of availability rows
        (every location and bin of these SKUs), with no EventType."""
        with self.lock:
            rows, spans = self._availability_index()
            wanted = set(skus)
            return [
                self._availability_row(*rows[index])
                for sku in sorted(wanted)
                if sku in spans
                for index in range(*spans[sku])
            ]

    def _allocate(self, sale: dict[str, Any]) -> None:
        """Bring the sale's share of allocated (and the units it shipped) up to date; O(sale lines)."""
        sale_id, location = sale["ID"], sale["Location"]
        ordered, shipped = _ordered(sale), _shipped(sale)
        before = self._sale_shipped.get(sale_id, {})
        for sku, quantity in shipped.items():
            moved = quantity - before.get(sku, Decimal(0))
            if moved and (sku, location) in self._on_hand:
                self._on_hand[(sku, location)] -= moved
        self._sale_shipped[sale_id] = dict(shipped)
        live = sale["Order"]["Status"] == AUTHORISED and sale["Status"] != VOIDED
        share = {
            (sku, location): quantity - shipped.get(sku, Decimal(0))
            for sku, quantity in ordered.items()
            if live and quantity > shipped.get(sku, Decimal(0))
        }
        for key, quantity in self._sale_allocated.pop(sale_id, {}).items():
            self._allocated[key] -= quantity
        for key, quantity in share.items():
            self._allocated[key] += quantity
        self._sale_allocated[sale_id] = share

    def _product_id(self, sku: str) -> str:
        """The ProductID sale lines use for a SKU outside the catalogue (cached: uuid5 is not free)."""
        found = self._product_ids.get(sku)
        if found is None:
            found = self._product_ids[sku] = str(uuid.uuid5(_PRODUCTS, f"product:{sku}"))
        return found

    def _catalogue_changed(self) -> None:
        self._sku_products = None
        self._rows = None

    def _catalogue(self) -> dict[str, dict[str, Any]]:
        if self._sku_products is None:
            self._sku_products = {product["SKU"]: product for product in self._products.values()}
        return self._sku_products

    def _availability_index(self) -> tuple[list[tuple[str, str, int]], dict[str, tuple[int, int]]]:
        """Every listed row (stock-type products only; a SKU missing from the catalogue counts as stock),
        sorted, and each SKU's span in that list. Rebuilt only when a stock row or the catalogue changes."""
        if self._rows is None:
            catalogue = self._catalogue()
            rows = []
            for sku, location in sorted(self._on_hand):
                if catalogue.get(sku, {}).get("Type", "Stock") != "Stock":
                    continue
                rows.append((sku, location, 0))
                if (sku, location) in self._two_bins:
                    rows.append((sku, location, 1))
            spans: dict[str, tuple[int, int]] = {}
            for index, (sku, _, _) in enumerate(rows):
                start = spans[sku][0] if sku in spans else index
                spans[sku] = (start, index + 1)
            self._rows, self._spans = rows, spans
        return self._rows, self._spans

    def _availability_row(self, sku: str, location: str, part: int) -> dict[str, Any]:
        key = (sku, location)
        on_hand = self._on_hand[key]
        allocated = self._allocated.get(key, Decimal(0))
        bin_name = None
        if key in self._two_bins:
            second = (on_hand / 3).to_integral_value(ROUND_FLOOR) if on_hand > 0 else Decimal(0)
            first = on_hand - second
            first_allocated = min(allocated, max(first, Decimal(0)))
            on_hand, allocated = ((first, first_allocated), (second, allocated - first_allocated))[part]
            bin_name = _BINS[part]
        product = self._catalogue().get(sku) or {}
        return {
            "ID": product.get("ID") or self._product_id(sku),
            "SKU": sku,
            "Name": product.get("Name") or sku.replace("-", " ").title(),
            "Barcode": product.get("Barcode") or "",
            "Location": location,
            "Bin": bin_name,
            "Batch": None,
            "ExpiryDate": None,
            "OnHand": _number(on_hand),
            "Allocated": _number(allocated),
            "Available": _number(on_hand - allocated),
            "OnOrder": 0,
            "InTransit": 0,
            "StockOnHand": _number((on_hand * _UNIT_COST).quantize(_CENT)),  # a value, not units
        }

    def _get_availability(self, request: Request, match: re.Match[str]) -> Response:
        """GET ref/productavailability: Sku and Name match partially (case-insensitive), Location and ID
        exactly; Total counts the rows after filtering. Unfiltered pages cost O(page)."""
        try:
            page = int(request.query.get("page") or 1)
            limit = int(request.query.get("limit") or 100)
        except ValueError:
            return Response(400, _error(400, "Page and Limit must be integers"))
        if page < 1 or not 1 <= limit <= 1000:
            return Response(400, _error(400, "Page must be >= 1 and Limit between 1 and 1000"))
        wanted_id = _query(request, "ID").strip().lower()
        sku = _query(request, "Sku").strip().lower()
        location = _query(request, "Location").strip().lower()
        name = _query(request, "Name").strip().lower()
        rows, spans = self._availability_index()
        start = (page - 1) * limit
        if not (wanted_id or sku or location or name):
            return Response(
                200,
                {
                    "Total": len(rows),
                    "Page": page,
                    "ProductAvailabilityList": [self._availability_row(*row) for row in rows[start : start + limit]],
                },
            )
        catalogue = self._catalogue()
        chosen: list[tuple[str, str, int]] = []
        for each in spans:  # in SKU order
            if sku and sku not in each.lower():
                continue
            product = catalogue.get(each) or {}
            if name and name not in str(product.get("Name") or each.replace("-", " ").title()).lower():
                continue
            if wanted_id and wanted_id != (product.get("ID") or self._product_id(each)):
                continue
            chosen.extend(row for row in rows[slice(*spans[each])] if not location or row[1].lower() == location)
        return Response(
            200,
            {
                "Total": len(chosen),
                "Page": page,
                "ProductAvailabilityList": [self._availability_row(*row) for row in chosen[start : start + limit]],
            },
        )

    def sale(self, sale_id: str) -> dict[str, Any]:
        """A copy of the sale as GET sale?ID= would return it."""
        with self.lock:
            return copy.deepcopy(self._sales[self._key(sale_id)])

    def sale_ids(self) -> list[str]:
        with self.lock:
            return sorted(self._sales, key=self._list_order)

    def void_sale(self, sale_id: str) -> None:
        """Scenario: someone voids the sale in Cin7 Core (as DELETE sale?ID=&Void=true would)."""
        with self.lock:
            self._void(self._sales[self._key(sale_id)])

    def webhook_payload(self, sale_id: str, event_type: str = "Sale/OrderAuthorised") -> dict[str, Any]:
        """The thin body Cin7 posts for a sale event (GUIDs in upper case, as in Cin7's examples)."""
        with self.lock:
            sale = self._sales[self._key(sale_id)]
            return {
                "SaleID": sale["ID"].upper(),
                "SaleOrderNumber": sale["Order"]["SaleOrderNumber"],
                "EventType": event_type,
            }

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _key(sale_id: str) -> str:
        return str(uuid.UUID(sale_id.strip()))

    @staticmethod
    def _line(sku: str, quantity: int, price: Decimal) -> dict[str, Any]:
        total = price * quantity
        return {
            "ProductID": str(uuid.uuid5(_PRODUCTS, f"product:{sku}")),
            "SKU": sku,
            "Name": sku.replace("-", " ").title(),
            "Quantity": quantity,
            "Price": _number(price),
            "Discount": 0,
            "Tax": _number(_vat(total)),
            "AverageCost": 0,
            "TaxRule": VAT_RULE,
            "Comment": "",
            "DropShip": False,
            "BackorderQuantity": 0,
            "Total": _number(total),
        }

    @staticmethod
    def _charge(description: str, price: Decimal) -> dict[str, Any]:
        return {
            "Description": description,
            "Price": _number(price),
            "Quantity": 1,
            "Discount": 0,
            "Tax": _number(_vat(price)),
            "Total": _number(price),
            "TaxRule": VAT_RULE,
            "Comment": "",
        }


AUTHORISED = "AUTHORISED"
NOT_AVAILABLE = "NOT AVAILABLE"
PARTLY = "PARTIALLY AUTHORISED"
VOIDED = "VOIDED"
# The reference's Sale POST/PUT attributes (SaleType is POST only).
_HEADER_ATTRIBUTES = frozenset(
    {
        "ID",
        "Customer",
        "CustomerID",
        "Contact",
        "Phone",
        "Email",
        "DefaultAccount",
        "SkipQuote",
        "BillingAddress",
        "ShippingAddress",
        "ShippingNotes",
        "TaxRule",
        "TaxInclusive",
        "Terms",
        "PriceTier",
        "ShipBy",
        "Location",
        "SaleOrderDate",
        "LastModifiedOn",
        "Note",
        "CustomerReference",
        "CurrencyRate",
        "SalesRepresentative",
        "Carrier",
        "ExternalID",
        "AdditionalAttributes",
    }
)
_SIMPLE_CHAIN = {"ORDERED", "PICKING", "PICKED", "PACKING", "PACKED", "SHIPPING"}
_BINS = ("Bin A-01", "Bin B-01")  # the two Bin rows of a split stock row
_UNIT_COST = Decimal("4.25")  # StockOnHand is a value (units x cost), so a client reading it as units is caught


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _quantity(line: dict[str, Any], sku: str) -> tuple[Decimal, str | None]:
    """Cin7: a decimal with up to 4 places, minimal value 1."""
    value = line.get("Quantity")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return Decimal(0), f"Quantity is required for SKU '{sku}'"
    try:
        quantity = _decimal(value)
    except ArithmeticError:
        return Decimal(0), f"Quantity '{value}' for SKU '{sku}' is not a number"
    if not quantity.is_finite() or quantity < 1 or quantity != quantity.quantize(Decimal("0.0001")):
        return Decimal(0), f"Quantity {value} for SKU '{sku}' must be 1 or more with at most 4 decimal places"
    return quantity, None


def _ordered(sale: dict[str, Any]) -> dict[str, Decimal]:
    ordered: dict[str, Decimal] = defaultdict(Decimal)
    for line in sale["Order"]["Lines"]:
        ordered[line["SKU"]] += _decimal(line["Quantity"])
    return ordered


def _shipped(sale: dict[str, Any]) -> dict[str, Decimal]:
    """Per SKU, the packed quantities of boxes that a ship line marks IsShipped."""
    shipped: dict[str, Decimal] = defaultdict(Decimal)
    for task in sale["Fulfilments"]:
        if task["Ship"]["Status"] == VOIDED:
            continue
        boxes = {line["Boxes"] for line in task["Ship"]["Lines"] if line["IsShipped"]}
        for line in task["Pack"]["Lines"]:
            if line["Box"] in boxes:
                shipped[line["SKU"]] += _decimal(line["Quantity"])
    return shipped


def _tracking(sale: dict[str, Any]) -> list[str]:
    numbers = [
        line["TrackingNumber"]
        for task in sale["Fulfilments"]
        for line in task["Ship"]["Lines"]
        if line["IsShipped"] and line["TrackingNumber"]
    ]
    return list(dict.fromkeys(numbers))


def _combined(ordered: dict[str, Decimal], done: dict[str, Decimal], word: str) -> str:
    """NOT <word> / PARTIALLY <word> / <word>, over every ordered unit."""
    if not any(done.get(sku, 0) > 0 for sku in ordered):
        return f"NOT {word}"
    if all(done.get(sku, 0) >= quantity for sku, quantity in ordered.items()):
        return word
    return f"PARTIALLY {word}"


def _simple_status(task: dict[str, Any]) -> str | None:
    """The blueprint's overall status for a simple sale's one task; None where the table is silent."""
    pick, pack, ship = task["Pick"]["Status"], task["Pack"]["Status"], task["Ship"]["Status"]
    if ship in (AUTHORISED, PARTLY):
        return None
    if ship == "DRAFT":
        return "SHIPPING"
    if pack == AUTHORISED:
        return "PACKED"
    if pack == "DRAFT":
        return "PACKING"
    if pick == AUTHORISED:
        return "PICKED"
    if pick == "DRAFT":
        return "PICKING"
    return None


# Endpoints as the card spells them, and what a call to each is for.
_ENDPOINTS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "me"): ("me", "connectivity check"),
    ("GET", "sale"): ("sale", "read one sale"),
    ("PUT", "sale"): ("sale", "note on the sale"),
    ("DELETE", "sale"): ("sale", "void"),
    ("POST", "sale"): ("sale", "create the sale header"),
    ("POST", "sale/order"): ("sale/order", "write and authorise the order stage"),
    ("GET", "salelist"): ("saleList", "sales changed"),
    ("GET", "product"): ("product", "products changed"),
    ("GET", "sale/fulfilment"): ("sale/fulfilment", "read the fulfilment tasks"),
    ("POST", "sale/fulfilment"): ("sale/fulfilment", "add a fulfilment task"),
    ("POST", "sale/fulfilment/pick"): ("sale/fulfilment/pick", "authorise pick"),
    ("POST", "sale/fulfilment/pack"): ("sale/fulfilment/pack", "authorise pack"),
    ("POST", "sale/fulfilment/ship"): ("sale/fulfilment/ship", "authorise ship"),
    ("GET", "ref/productavailability"): ("ref/productavailability", "availability"),
}


def call_flow(user_agent: str) -> str:
    """The hop a call came from: the connector sends `hopline/<hop>`; anything else is `other`."""
    name, _, hop = user_agent.partition("/")
    return hop.split()[0] if name == "hopline" and hop.strip() else "other"


def call_reason(method: str, path: str, query: dict[str, str]) -> str:
    """`<METHOD> <endpoint>: <purpose>`, the purpose refined by the query (which sales, one SKU or a page)."""
    endpoint = path[len(PREFIX) :] if path.lower().startswith(PREFIX.lower()) else path
    spelled, purpose = _ENDPOINTS.get((method.upper(), endpoint.lower()), (endpoint, "unknown endpoint"))
    asked = {key.lower(): value for key, value in query.items()}
    if spelled == "saleList":
        if asked.get("orderstatus", "").upper() == "AUTHORISED":
            purpose = "authorised sales changed"
        elif asked.get("status", "").upper() == "VOIDED":
            purpose = "voided sales changed"
        elif asked.get("updatedsince") and not any(key.endswith("status") for key in asked):
            purpose = "sales changed, any status"
        elif asked.get("externalid"):
            purpose = "sale by reference (before a create)"
    elif spelled == "ref/productavailability":
        purpose = "availability of one SKU" if asked.get("sku") else "availability page"
        if asked.get("location"):
            purpose += " at one location"
    return f"{method.upper()} {spelled}: {purpose}"


def _query(request: Request, name: str) -> str:
    """Cin7 query parameter names are not case-sensitive in practice."""
    wanted = name.lower()
    return next((value for key, value in request.query.items() if key.lower() == wanted), "")


def _optional_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return _parse(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid date (ISO 8601, yyyy-MM-ddTHH:mm:ss)") from None


def _matches(request: Request, row: dict[str, Any]) -> bool:
    for parameter, field in (
        ("OrderStatus", "OrderStatus"),
        ("Status", "Status"),
        ("QuoteStatus", "QuoteStatus"),
        ("ExternalID", "ExternalID"),
    ):
        wanted = _query(request, parameter)
        if wanted and str(row.get(field) or "").upper() != wanted.upper():
            return False
    search = _query(request, "Search").casefold()
    if search:
        fields = ("OrderNumber", "Status", "Customer", "InvoiceNumber", "CustomerReference", "CreditNoteNumber")
        if not any(search in str(row.get(field) or "").casefold() for field in fields):
            return False
    return True


def _wire_address(address: dict[str, Any]) -> dict[str, Any]:
    """Accept Cin7 field names or canonical snake_case names for a shipping address."""
    return {_ADDRESS_KEYS.get(key, key): value for key, value in address.items()}


__all__ = ["PREFIX", "Cin7CoreSimulator", "call_flow", "call_reason"]
