"""Cin7 Core as the order target: a storefront's order becomes one Cin7 sale, exactly once, with its totals.

A sale is created in two calls (card "Create" [V]): `POST sale` (the header) then `POST sale/order` (lines,
charges, AUTHORISED). Cin7 has no idempotency header, so the sale carries our reference in `ExternalID`
(API-only and filterable) and every create looks it up first (`GET saleList?ExternalID=`): a retry after
a lost answer, or after the header landed and the order stage did not, finds the sale it made and
finishes it. The reference is `<prefix>-<order number>` and the prefix is the client's, so the key is
(client, source platform, order number).

Money is the source's: `shared.flows.totals.plan_posting` turns the order's lines (after order discounts,
with their tax), shipping and the source totals into Cin7 lines and charges whose sums equal the order's
total, tax and shipping to the minor unit, adding a rounding charge (a service product) when Cin7's own
line arithmetic cannot reproduce them. The currency is the customer's in Cin7: an order posts to the
customer configured for its currency.

Cancelling voids the sale (`DELETE sale?ID=&Void=true`) only before the cut-off in `statuses.py`.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.connectors.cin7_core import statuses
from shared.connectors.cin7_core.client import MAX_PAGE_LIMIT, Cin7CoreClient
from shared.connectors.cin7_core.mapping import format_cin7_datetime, parse_sale_states
from shared.connectors.cin7_core.settings import Cin7SalesSettings
from shared.errors import NotFoundError, PermanentError
from shared.flows.totals import ChargeKind, DiscountMode, PostingPlan, PostingRules, plan_posting
from shared.models import Order, ReasonCode, WarehouseOrderRef
from shared.models.warehouse import CancelRule, WarehouseStatusRead
from shared.redaction import module_logger

logger = module_logger(__name__)

_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
REFUSED_SUFFIX = "~refused"  # an abandoned header's ExternalID, so the reference is free for a retry


def _number(value: Decimal) -> float | int:
    """Cin7 takes JSON numbers; every figure here is already at its currency's minor unit or 4 dp."""
    return int(value) if value == value.to_integral_value() else float(value)


def posting_rules(sales: Cin7SalesSettings) -> PostingRules:
    """Cin7 keeps 4 decimals on a unit price; the line discount is folded into the price (IN_PRICE)."""
    return PostingRules(
        rounding_product=sales.rounding_product,
        shipping_product=sales.shipping_product,
        price_decimals=4,
        discount_mode=DiscountMode.IN_PRICE,
        max_rounding_minor_units=sales.max_rounding_minor_units,
    )


def plan_for(order: Order, sales: Cin7SalesSettings) -> PostingPlan:
    decision = plan_posting(order, posting_rules(sales))
    if decision.plan is None:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{decision.reason}: {decision.detail}")
    return decision.plan


def sale_header(order: Order, client_reference: str, courier_service: str, sales: Cin7SalesSettings) -> dict[str, Any]:
    """POST sale: who, where and how taxed; the reference in ExternalID (the idempotency key)."""
    address = order.shipping_address
    header: dict[str, Any] = {
        "Customer": sales.customer_for(order.currency),
        "Location": sales.location,
        "SkipQuote": True,
        "ExternalID": client_reference,
        "CustomerReference": order.order_number,
        "TaxInclusive": order.tax_inclusive,
        "TaxRule": sales.tax_rule,
        "Carrier": courier_service,
        "Email": address.email,
        "Phone": address.phone,
        # Country as ISO 3166-1 alpha-2 [I]: the card's example writes the name; the reference does not say.
        "ShippingAddress": {
            "Line1": address.line1,
            "Line2": address.line2,
            "City": address.city,
            "State": address.region,
            "Postcode": address.postcode,
            "Country": address.country,
            "Company": address.company,
            "Contact": address.name,
            "ShipToOther": True,
        },
    }
    if sales.price_tier:
        header["PriceTier"] = sales.price_tier
    return header


def sale_order(sale_id: str, plan: PostingPlan, sales: Cin7SalesSettings) -> dict[str, Any]:
    """POST sale/order: the planned lines and charges; Total per line is what Cin7 validates."""
    return {
        "SaleID": sale_id,
        "Status": "AUTHORISED" if sales.authorise else "DRAFT",
        "Memo": "",
        "Lines": [
            {
                "SKU": line.sku,
                "Name": line.name or line.sku,
                "Quantity": _number(line.quantity),
                "Price": _number(line.unit_price),
                "Discount": 0,
                "Tax": _number(line.tax),
                "TaxRule": sales.tax_rule,
                "Total": _number(line.total),
            }
            for line in plan.lines
        ],
        "AdditionalCharges": [
            {
                "Description": charge.description,
                "Price": _number(charge.price),
                "Quantity": 1,
                "Tax": _number(charge.tax),
                "TaxRule": sales.tax_rule,
            }
            for charge in plan.charges
            if charge.kind in (ChargeKind.SHIPPING, ChargeKind.ROUNDING)
        ],
    }


def sale_totals(sale: dict[str, Any], shipping_product: str) -> tuple[Decimal, Decimal, Decimal]:
    """(total, tax, shipping) a Cin7 sale's order stage sums to: what finance reconciles against the source."""
    order = sale.get("Order") or {}
    charges = list(order.get("AdditionalCharges") or [])
    items = list(order.get("Lines") or []) + charges
    amounts = sum((Decimal(str(item.get("Total", 0))) for item in items), Decimal(0))
    tax = sum((Decimal(str(item.get("Tax", 0))) for item in items), Decimal(0))
    shipping = sum(
        (Decimal(str(c.get("Total", 0))) for c in charges if c.get("Description") == shipping_product), Decimal(0)
    )
    inclusive = str(sale.get("TaxCalculation") or "").lower() == "inclusive"
    return (amounts if inclusive else amounts + tax), tax, shipping


def _stage_written(row: dict[str, Any]) -> bool:
    """Whether a saleList row's order stage is past DRAFT: the sale is an order, not a bare header."""
    return str(row.get("OrderStatus") or "").upper() not in ("DRAFT", "NOT AVAILABLE", "")


class Cin7CoreConnector(Cin7CoreClient):
    """The Cin7 Core client with the order-target and cancel-target ports (FulfilmentTarget, CancelTarget)."""

    def __init__(
        self,
        *args: Any,
        sales: Cin7SalesSettings | None = None,
        cancel_rules: dict[int, CancelRule] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.sales = sales
        self.cancel_table = statuses.cancel_rules(cancel_rules or {})

    def _sales_settings(self) -> Cin7SalesSettings:
        if self.sales is None:
            raise PermanentError(
                ReasonCode.WAREHOUSE_REJECTED,
                "Cin7 Core is the order target but its platform settings have no `sales` section",
            )
        return self.sales

    # -- FulfilmentTarget ---------------------------------------------------------------------------
    def _sale_by_reference(self, client_reference: str) -> dict[str, Any] | None:
        """GET saleList?ExternalID=: the row of the sale holding this reference, if any (one call)."""
        reference = client_reference.strip()
        if not reference:
            raise PermanentError(ReasonCode.PAYLOAD_INVALID, "blank order reference")
        body = self._get("saleList", {"ExternalID": reference, "limit": 10, "page": 1})
        rows = body.get("SaleList") if isinstance(body, dict) else None
        for row in rows or []:
            if isinstance(row, dict) and str(row.get("ExternalID") or "") == reference:
                return row
        return None

    def find_order(self, client_reference: str) -> WarehouseOrderRef | None:
        """The sale under this reference once its order stage is written; a header whose order stage is
        still DRAFT (the create failed between its two calls) is not an order yet: `create_order` finishes it."""
        row = self._sale_by_reference(client_reference)
        if row is None or not _stage_written(row):
            return None
        return WarehouseOrderRef(
            warehouse_order_id=str(row["SaleID"]).lower(),
            client_reference=client_reference.strip(),
            status=str(row.get("Status") or ""),
            created=False,
        )

    def create_order(self, order: Order, client_reference: str, courier_service: str) -> WarehouseOrderRef:
        """The sale for this reference, made once: looked up first, header then order stage, authorised.

        A sale found with its order stage still DRAFT (a header that landed before a failure) is finished,
        not made again. A refused order stage (a SKU Cin7 lacks) abandons the header: its ExternalID is
        renamed and the sale voided, so the reference is free and the refusal is quarantined; unless the
        sale shows the stage already written (a retry after a lost answer), which keeps it.
        """
        sales = self._sales_settings()
        plan = plan_for(order, sales)  # before any call: totals that cannot add up are never posted
        reference = client_reference.strip()
        row = self._sale_by_reference(reference)
        created = row is None
        if row is not None and _stage_written(row):
            return WarehouseOrderRef(
                warehouse_order_id=str(row["SaleID"]).lower(),
                client_reference=reference,
                status=str(row.get("Status") or ""),
                created=False,
            )
        if row is None:
            header = self._post("sale", sale_header(order, reference, courier_service, sales), idempotent=False)
            if not isinstance(header, dict) or not header.get("ID"):
                raise PermanentError(ReasonCode.WAREHOUSE_REJECTED, "Cin7 POST sale answered without an ID")
            sale_id = str(header["ID"]).lower()
        else:
            sale_id = str(row["SaleID"]).lower()
        try:
            sale = self._post("sale/order", sale_order(sale_id, plan, sales), idempotent=True)
        except PermanentError as refused:
            header = self.get_sale(sale_id)
            written = str((header.get("Order") or {}).get("Status") or "").upper()
            if written not in ("DRAFT", "NOT AVAILABLE", ""):
                # The refusal answers a retry whose first attempt landed (its answer was lost): the stage is
                # written, so the sale is made. Abandoning it here would void the customer's order.
                logger.info("cin7 sale %s: order stage already %s; kept", sale_id, written)
                status = str(header.get("Status") or "")
                return WarehouseOrderRef(
                    warehouse_order_id=sale_id, client_reference=reference, status=status, created=created
                )
            self._abandon(sale_id, reference, header)
            reason = ReasonCode.SKU_UNKNOWN if "not found" in refused.detail.lower() else ReasonCode.WAREHOUSE_REJECTED
            raise PermanentError(reason, f"Cin7 refused the order stage of {reference}: {refused.detail}") from None
        status = str(sale.get("Status") or "") if isinstance(sale, dict) else ""
        return WarehouseOrderRef(warehouse_order_id=sale_id, client_reference=reference, status=status, created=created)

    def _abandon(self, sale_id: str, reference: str, header: dict[str, Any]) -> None:
        body = {
            "ID": sale_id,
            "Customer": header.get("Customer"),
            "Location": header.get("Location"),
            "ExternalID": f"{reference}{REFUSED_SUFFIX}",
        }
        self.send("PUT", "sale", json=body)
        self.send("DELETE", "sale", params={"ID": sale_id, "Void": "true"})
        logger.info("cin7 sale %s abandoned after its order stage was refused", sale_id)

    def known_skus(self, skus: list[str]) -> set[str]:
        """GET product?Sku= per SKU, matched exactly (the filter matches partially, card [V])."""
        found: set[str] = set()
        for sku in dict.fromkeys(s.strip() for s in skus if s.strip()):
            body = self._get("product", {"Sku": sku, "limit": 100, "page": 1})
            rows = body.get("Products") if isinstance(body, dict) else None
            if any(isinstance(row, dict) and row.get("SKU") == sku for row in rows or []):
                found.add(sku)
        return found

    # -- CancelTarget -------------------------------------------------------------------------------
    def _sale_or_none(self, sale_id: str) -> dict[str, Any] | None:
        """The sale, or None when Cin7 holds none by this id (an id that is not a GUID names no sale)."""
        if not _GUID.fullmatch(sale_id.strip()):
            return None
        try:
            return self.get_sale(sale_id)
        except NotFoundError:
            return None

    def order_status(self, warehouse_order_id: str) -> WarehouseStatusRead:
        return statuses.status_read(statuses.sale_code(self.get_sale(warehouse_order_id)))

    def order_state(self, warehouse_order_id: str) -> WarehouseOrderRef | None:
        sale = self._sale_or_none(warehouse_order_id)
        if sale is None:
            return None
        return WarehouseOrderRef(
            warehouse_order_id=str(sale.get("ID") or warehouse_order_id).lower(),
            client_reference=str(sale.get("ExternalID") or ""),
            status=statuses.status_read(statuses.sale_code(sale)).status,
            created=False,
        )

    def order_states_since(self, since: datetime) -> list[WarehouseOrderRef]:
        """The sales changed after `since` with their live state, in one call (WarehouseStateFeed): one
        `GET saleList?UpdatedSince=` page at the card's largest limit (1,000 [V]). The rows carry the statuses
        `statuses.sale_code` reads, so a row reads as GET sale does."""
        params = {"UpdatedSince": format_cin7_datetime(since), "limit": MAX_PAGE_LIMIT, "page": 1}
        _, rows = parse_sale_states(self._get("saleList", params))
        return [
            WarehouseOrderRef(
                warehouse_order_id=row.SaleID.lower(),
                client_reference=row.ExternalID,
                status=statuses.status_read(statuses.sale_code(row.model_dump())).status,
                created=False,
            )
            for row in rows
        ]

    def cancel_order(self, warehouse_order_id: str) -> tuple[bool, str]:
        """Void the sale if its stage is before the cut-off; a voided sale answers accepted again."""
        sale = self.get_sale(warehouse_order_id)
        code = statuses.sale_code(sale)
        if code == statuses.VOIDED:
            return True, "already voided"
        rule = self.cancel_table.get(str(code))
        if rule is not CancelRule.CANCEL:
            return False, f"sale is at '{statuses.STATUS_NAMES[code]}', past the cut-off for a void"
        self.send("DELETE", "sale", params={"ID": warehouse_order_id, "Void": "true"})
        return True, "voided"
