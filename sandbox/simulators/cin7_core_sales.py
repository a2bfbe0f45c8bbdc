"""Cin7 Core as an order target: the simulator also takes sales created over the API (card "Create" [V]).

- `POST sale` creates the header (Customer and Location required; `ExternalID`, `CustomerReference`,
  `TaxInclusive`, `TaxRule`, `PriceTier`, `Carrier`, `ShippingAddress`); the sale is ORDERING with a DRAFT
  order and no lines, and answers the sale with its `ID`.
- `POST sale/order` writes the order stage: `Lines` (a SKU the catalogue lacks is refused, 400), their
  `Total` checked against Quantity x Price less Discount % to the cent (Cin7 validates `Total`), and
  `AdditionalCharges` whose Description names a service product in the catalogue. `Status: AUTHORISED`
  allocates the stock (Status ORDERED); only a DRAFT or NOT AVAILABLE order may be written.
- Customers carry a currency (`customer_currencies`): a sale takes its customer's currency, as Cin7 does.
  Line and charge totals are rounded at that currency's minor unit (JPY 0, GBP 2, KWD 3 decimals) [I]: the
  card does not say how Cin7 rounds a currency without cents.
- An authorised order has its first fulfilment task (pick NOT AVAILABLE), as a sale made by `add_sale` has;
  `authorise_pick` is the warehouse picking it, which moves it past the default cut-off for a void.
- `fulfil` is the warehouse team working a sale in Cin7 (pick, pack and ship one box with tracking, on the
  sale's first open task or a new one for a part shipment), under the same stage rules as the API routes.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.simulators.base import Request, Response
from sandbox.simulators.cin7_core import (
    AUTHORISED,
    NOT_AVAILABLE,
    PREFIX,
    Cin7CoreSimulator,
    _error,
    _number,
    _stamp,
)
from shared.models.currency import quantum

_ORDER_WRITABLE = ("DRAFT", "NOT AVAILABLE")


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{value!r} is not a number") from None


class Cin7CoreSalesSimulator(Cin7CoreSimulator):
    """The Cin7 Core simulator with sale creation and order authorisation over the API."""

    def __init__(self, *args: Any, customer_currencies: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.customer_currencies = dict(customer_currencies or {})
        self.sales_created = 0
        self.orders_written = 0
        self.service_products: set[str] = {"Shipping", "Rounding"}
        self.authorised_at: dict[str, datetime] = {}  # SaleID -> when its order stage was first authorised
        # Before the base class's `POST sale/fulfilment...` routes do not matter: patterns are anchored.
        self.route("POST", rf"{PREFIX}sale", self._post_sale, writes=True)
        self.route("POST", rf"{PREFIX}sale/order", self._post_sale_order, writes=True)

    # -- routes ------------------------------------------------------------------------------------
    def _post_sale(self, request: Request, match: re.Match[str]) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        customer = str(body.get("Customer") or "").strip()
        location = str(body.get("Location") or "").strip()
        if not customer:
            return Response(400, _error(400, "Customer or CustomerID is required"))
        if not location:
            return Response(400, _error(400, "Location is required"))
        address = body.get("ShippingAddress") if isinstance(body.get("ShippingAddress"), dict) else None
        with self.lock:
            number = f"SO-{90000 + self.sales_created:05d}"
            sale_id = self.add_sale(
                order_number=number,
                lines=[],
                address=address,
                carrier=str(body.get("Carrier") or ""),
                location=location,
                status="ORDERING",
                order_status="DRAFT",
                currency=self.customer_currencies.get(customer, "GBP"),
                customer=customer,
                customer_reference=str(body.get("CustomerReference") or ""),
            )
            sale = self._sales[sale_id]
            sale["ExternalID"] = body.get("ExternalID") or None
            sale["TaxCalculation"] = "Inclusive" if body.get("TaxInclusive") else "Exclusive"
            for field in ("TaxRule", "PriceTier", "Note"):
                if body.get(field):
                    sale[field] = body[field]
            self.sales_created += 1
            return Response(200, self._read_sale(sale))

    def _post_sale_order(self, request: Request, match: re.Match[str]) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        with self.lock:
            sale = self._sales.get(str(body.get("SaleID") or "").strip().lower())
            if sale is None:
                return Response(200, _error(404, f"Sale with ID = '{body.get('SaleID')}' not found"))
            if sale["Order"]["Status"] not in _ORDER_WRITABLE:
                return Response(400, _error(400, f"Sale order is {sale['Order']['Status']} and cannot be changed"))
            status = str(body.get("Status") or "DRAFT").upper()
            if status not in ("DRAFT", AUTHORISED):
                return Response(400, _error(400, f"Status {status} is not DRAFT or AUTHORISED"))
            try:
                lines = [self._order_line(sale, line) for line in body.get("Lines") or []]
                charges = [self._order_charge(sale, charge) for charge in body.get("AdditionalCharges") or []]
            except ValueError as refused:
                return Response(400, _error(400, str(refused)))
            if not lines:
                return Response(400, _error(400, "Lines are required"))
            amounts = [_decimal(item["Total"]) for item in lines + charges]
            tax = sum((_decimal(item["Tax"]) for item in lines + charges), Decimal(0))
            total = sum(amounts, Decimal(0)) + (Decimal(0) if sale["TaxCalculation"] == "Inclusive" else tax)
            sale["Order"].update(
                {
                    "Memo": str(body.get("Memo") or ""),
                    "Status": status,
                    "Lines": lines,
                    "AdditionalCharges": charges,
                    "TotalBeforeTax": _number(total - tax),
                    "Tax": _number(tax),
                    "Total": _number(total),
                }
            )
            if status == AUTHORISED:
                sale["Status"] = "ORDERED"
                self.authorised_at.setdefault(sale["ID"], self.clock.now())
                self._ensure_task(sale)
            self._touch(sale)
            self._allocate(sale)
            self.orders_written += 1
            return Response(200, self._read_sale(sale))

    # -- validation ----------------------------------------------------------------------------------
    def _order_line(self, sale: dict[str, Any], line: Any) -> dict[str, Any]:
        if not isinstance(line, dict):
            raise ValueError("a line must be an object")
        sku = str(line.get("SKU") or "").strip()
        product = self._catalogue().get(sku)
        if product is None:
            raise ValueError(f"Product with SKU '{sku}' not found")
        quantity, price = _decimal(line.get("Quantity")), _decimal(line.get("Price"))
        discount = _decimal(line.get("Discount") or 0)
        if quantity < 1 or quantity != quantity.quantize(Decimal("0.0001")):
            raise ValueError(f"Quantity of {sku} must be at least 1 with at most 4 decimals")
        if price != price.quantize(Decimal("0.0001")):
            raise ValueError(f"Price of {sku} has more than 4 decimals")
        unit = quantum(sale["CustomerCurrency"])
        expected = (quantity * price * (1 - discount / 100)).quantize(unit, rounding=ROUND_HALF_UP)
        if "Total" in line and abs(_decimal(line["Total"]) - expected) >= unit:
            raise ValueError(f"Total of {sku} must be {expected}, got {line['Total']}")
        return {
            "ProductID": product["ID"],
            "SKU": sku,
            "Name": str(line.get("Name") or product["Name"]),
            "Quantity": _number(quantity),
            "Price": _number(price),
            "Discount": _number(discount),
            "Tax": _number(_decimal(line.get("Tax") or 0)),
            "AverageCost": 0,
            "TaxRule": str(line.get("TaxRule") or sale["TaxRule"]),
            "Comment": str(line.get("Comment") or ""),
            "DropShip": False,
            "BackorderQuantity": 0,
            "Total": _number(expected),
        }

    def _order_charge(self, sale: dict[str, Any], charge: Any) -> dict[str, Any]:
        if not isinstance(charge, dict):
            raise ValueError("an additional charge must be an object")
        description = str(charge.get("Description") or "")
        if description not in self.service_products:
            raise ValueError(f"Service product '{description}' not found")
        quantity, price = _decimal(charge.get("Quantity") or 1), _decimal(charge.get("Price"))
        discount = _decimal(charge.get("Discount") or 0)
        unit = quantum(sale["CustomerCurrency"])
        total = (quantity * price * (1 - discount / 100)).quantize(unit, rounding=ROUND_HALF_UP)
        return {
            "Description": description,
            "Price": _number(price),
            "Quantity": _number(quantity),
            "Discount": _number(discount),
            "Tax": _number(_decimal(charge.get("Tax") or 0)),
            "Total": _number(total),
            "TaxRule": str(charge.get("TaxRule") or ""),
            "Comment": "",
        }

    # -- scenario helpers (plain Python, not HTTP) -------------------------------------------------
    def fulfil(
        self,
        sale_id: str,
        units: dict[str, int],
        *,
        tracking: str,
        carrier: str = "Royal Mail",
        box: str = "Box 1",
        until: str = "ship",
    ) -> str:
        """Scenario: the sale's units are picked, packed into `box` and shipped with `tracking`; the TaskID.
        `until` stops earlier ("pick" or "pack"), as a warehouse that has not finished yet.

        A sale whose tasks are all picked gets a new task first (it becomes an Advanced sale), as Cin7
        allows only then. A stage Cin7 would refuse raises ValueError with Cin7's message.
        """
        stages = ("pick", "pack", "ship")
        if until not in stages:
            raise ValueError(f"until must be one of {stages}, got {until!r}")
        with self.lock:
            sale = self._sales[self._key(sale_id)]
            task = next((t for t in sale["Fulfilments"] if t["Pick"]["Status"] in ("DRAFT", NOT_AVAILABLE)), None)
            if task is None:
                task = self._new_task(sale, pick_status="DRAFT")
                sale["Type"] = "Advanced Sale"
            location = sale["Location"]
            self.locations.add(location)
            lines = [{"SKU": sku, "Location": location, "Quantity": quantity} for sku, quantity in units.items()]
            shipped = {
                "Box": box,
                "ShipmentDate": _stamp(self.clock.now(), zone=False),
                "Carrier": carrier,
                "TrackingNumber": tracking,
                "IsShipped": True,
            }
            steps = (
                (self._pick, lines),
                (self._pack, [{**line, "Box": box} for line in lines]),
                (self._ship, [shipped]),
            )
            for stage, body in steps[: stages.index(until) + 1]:
                problem = stage(sale, task, AUTHORISED, body)
                if problem:
                    raise ValueError(problem)
                self._refresh(sale)
            return str(task["TaskID"])

    # -- inspection ----------------------------------------------------------------------------------
    def product_row(self, sku: str) -> dict[str, Any]:
        """The catalogue product with exactly this SKU, as GET product lists it (KeyError: none)."""
        with self.lock:
            return copy.deepcopy(self._catalogue()[sku])

    def sales_by_external_id(self, external_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(s) for s in self._sales.values() if s.get("ExternalID") == external_id]

    def sales_by_reference(self) -> dict[str, list[dict[str, Any]]]:
        """Every sale that carries an ExternalID, by it, as held (the order stage with Cin7's own totals)."""
        with self.lock:
            found: dict[str, list[dict[str, Any]]] = {}
            for sale in self._sales.values():
                if sale.get("ExternalID"):
                    found.setdefault(str(sale["ExternalID"]), []).append(copy.deepcopy(sale))
            return found

    # -- the warehouse at work (plain Python, not HTTP) ----------------------------------------------
    def authorise_pick(self, sale_id: str) -> None:
        """Someone in the warehouse picks the whole order on its first task, from the sale's location."""
        with self.lock:
            sale = self._sales[self._key(sale_id)]
            self._ensure_task(sale)
            lines = [
                {"SKU": line["SKU"], "Location": sale["Location"], "Quantity": line["Quantity"]}
                for line in sale["Order"]["Lines"]
            ]
            problem = self._pick(sale, sale["Fulfilments"][0], AUTHORISED, lines)
            if problem:
                raise ValueError(f"cannot pick sale {sale_id}: {problem}")
            self._refresh(sale)
