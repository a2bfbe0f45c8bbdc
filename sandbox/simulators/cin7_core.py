"""Cin7 Core API v2 stand-in: sale, saleList and me, with Cin7's auth, 60 calls/min limit and error shapes.

Behaviour follows the API Blueprint (dearinventory.apib, 2024-03): errors as [{"ErrorCode", "Exception"}],
403 for bad keys, 503 "60 calls per minute" with no Retry-After when over the limit (counted per
application key over a rolling 60 s of the simulation clock), an unknown sale as an error inside HTTP 200,
and dates in ISO 8601 UTC, some with 'Z' and some without.
"""

from __future__ import annotations

import copy
import random
import re
import uuid
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
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
    ):
        super().__init__(clock=clock, faults=faults)
        self.account_id = account_id
        self.application_key = application_key
        self.calls_per_minute = calls_per_minute
        self.throttled = 0  # 503s answered, from the real limit and from injected faults
        self._calls: dict[str, deque[datetime]] = defaultdict(deque)
        self._sales: dict[str, dict[str, Any]] = {}
        self._sequence: dict[str, int] = {}  # insertion order, to order equal Updated stamps
        self._ids = random.Random(f"cin7:{account_id}")
        self.route("GET", rf"{PREFIX}sale", self._get_sale)
        self.route("GET", rf"{PREFIX}saleList", self._get_sale_list)
        self.route("GET", rf"{PREFIX}me", self._get_me)

    # -- platform behaviour --------------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        account = request.headers.get("api-auth-accountid", "")
        key = request.headers.get("api-auth-applicationkey", "")
        if account != self.account_id or key != self.application_key:
            return Response(403, _error(403, "Incorrect credentials! Check api-auth-accountid/api-auth-applicationkey"))
        return None

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
        return Response(200, {
            "Company": "Hopline Sandbox Ltd",
            "Currency": "GBP",
            "TimeZone": "Europe/London",
            "DefaultWeightUnits": "g",
            "DefaultDimensionsUnits": "cm",
            "LockDate": None,
            "OpeningBalanceDate": "2026-01-01T00:00:00",
            "TaxCalculationMethod": "Total",
            "DefaultSaleTaxRuleName": VAT_RULE,
        })

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
        return Response(200, copy.deepcopy(sale))

    def _get_sale_list(self, request: Request, match: re.Match[str]) -> Response:
        try:
            page = int(_query(request, "Page") or 1)
            limit = int(_query(request, "Limit") or 100)
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
        return Response(200, {"Total": len(rows), "Page": page, "SaleList": rows[start:start + limit]})

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
                "DisplayAddressLine2": " ".join(filter(None, [
                    shipping_address["City"], shipping_address["State"],
                    shipping_address["Postcode"], shipping_address["Country"],
                ])),
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
                "BillingAddress": {k: v for k, v in shipping_address.items()
                                   if k not in ("Company", "Contact", "ShipToOther")},
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
                "Quote": {"Memo": "", "Status": "NOT AVAILABLE", "Prepayments": [], "Lines": [],
                          "AdditionalCharges": [], "TotalBeforeTax": 0, "Tax": 0, "Total": 0},
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
            sale["LastModifiedOn"] = _stamp(self.clock.now())
            self._sequence[sale["ID"]] = max(self._sequence.values()) + 1

    def sale(self, sale_id: str) -> dict[str, Any]:
        """A copy of the sale as GET sale?ID= would return it."""
        with self.lock:
            return copy.deepcopy(self._sales[self._key(sale_id)])

    def sale_ids(self) -> list[str]:
        with self.lock:
            return sorted(self._sales, key=self._list_order)

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
    for parameter, field in (("OrderStatus", "OrderStatus"), ("Status", "Status"), ("QuoteStatus", "QuoteStatus"),
                             ("ExternalID", "ExternalID")):
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


__all__ = ["PREFIX", "Cin7CoreSimulator"]
