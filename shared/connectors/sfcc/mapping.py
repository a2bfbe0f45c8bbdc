"""SFCC wire shapes (SCAPI Orders camelCase, OCAPI Data snake_case) and the mapping to canonical models.

Money is a decimal in major units of the order's own `currency` (card §4): parsed as Decimal from the JSON
text, never through float, and never the site's default currency. Totals are passed through, not recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import PermanentError
from shared.models import Address, Order, OrderLine, ReasonCode
from shared.models.currency import minor_unit_exponent
from shared.models.product import Product

SOURCE = "sfcc"
ExportStatus = Literal["exported", "failed"]
ShippingStatus = Literal["part_shipped", "shipped"]
PLACED = ("new", "completed")  # 'created' is not placed yet: no shipment or invoice numbers (card §3)


class Wire(BaseModel):
    """SFCC sends far more than we read (and c_ attributes): keep what we name, ignore the rest."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class WireAddress(Wire):
    firstName: str = ""  # noqa: N815 - platform field names stop here
    lastName: str = ""  # noqa: N815
    fullName: str = ""  # noqa: N815
    companyName: str = ""  # noqa: N815
    address1: str = ""
    address2: str = ""
    suite: str = ""
    postBox: str = ""  # noqa: N815
    city: str = ""
    postalCode: str = ""  # noqa: N815
    stateCode: str = ""  # noqa: N815
    countryCode: str = ""  # noqa: N815
    phone: str = ""


class WireShippingMethod(Wire):
    id: str = ""


class WireShipment(Wire):
    shipmentId: str  # noqa: N815
    shipmentNo: str = ""  # noqa: N815
    shippingAddress: WireAddress | None = None  # noqa: N815
    shippingMethod: WireShippingMethod | None = None  # noqa: N815
    shippingStatus: str = ""  # noqa: N815


class WireProductItem(Wire):
    productId: str  # noqa: N815
    productName: str = ""  # noqa: N815
    quantity: Decimal = Decimal(0)
    shipmentId: str = ""  # noqa: N815
    basePrice: Decimal | None = None  # noqa: N815
    priceAfterItemDiscount: Decimal | None = None  # noqa: N815
    priceAfterOrderDiscount: Decimal | None = None  # noqa: N815
    adjustedTax: Decimal | None = None  # noqa: N815
    tax: Decimal | None = None
    taxRate: Decimal | None = None  # noqa: N815


class WirePriceAdjustment(Wire):
    basePrice: Decimal | None = None  # noqa: N815
    grossPrice: Decimal | None = None  # noqa: N815
    netPrice: Decimal | None = None  # noqa: N815


class WireCustomerInfo(Wire):
    email: str = ""
    customerNo: str = ""  # noqa: N815


class WireOrder(Wire):
    orderNo: str = Field(min_length=1, max_length=50)  # noqa: N815
    siteId: str = ""  # noqa: N815
    currency: str = ""
    taxation: Literal["gross", "net"] | None = None
    status: str = ""
    exportStatus: str = ""  # noqa: N815
    confirmationStatus: str = ""  # noqa: N815
    paymentStatus: str = ""  # noqa: N815
    shippingStatus: str = ""  # noqa: N815
    lastModified: datetime | None = None  # noqa: N815
    customerOrderReference: str = ""  # noqa: N815
    customerInfo: WireCustomerInfo | None = None  # noqa: N815
    productItems: tuple[WireProductItem, ...] = ()  # noqa: N815
    shipments: tuple[WireShipment, ...] = ()
    orderPriceAdjustments: tuple[WirePriceAdjustment, ...] = ()  # noqa: N815
    productTotal: Decimal | None = None  # noqa: N815
    shippingTotal: Decimal | None = None  # noqa: N815
    shippingTotalTax: Decimal | None = None  # noqa: N815
    taxTotal: Decimal | None = None  # noqa: N815
    orderTotal: Decimal | None = None  # noqa: N815


def loads(content: bytes) -> Any:
    """JSON with every number that has a fraction or exponent as Decimal: 110.24 stays 110.24."""
    return json.loads(content, parse_float=Decimal)


def parse_orders_page(body: Any) -> list[dict[str, Any]]:
    """GET /orders answers {data: [Order]} and nothing else: no total, so a short page is the end (§2)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "SFCC GET /orders: expected {data: [...]}")
    rows = body["data"]
    if not all(isinstance(row, dict) for row in rows):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "SFCC GET /orders: data holds a non-object")
    return list(rows)


def wire_order(raw: dict[str, Any]) -> WireOrder:
    try:
        return WireOrder.model_validate(raw)
    except ValidationError as error:
        number = raw.get("orderNo", "?") if isinstance(raw, dict) else "?"
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"SFCC order {number}: {error.errors()[0]}") from error


def last_modified(raw: dict[str, Any]) -> datetime:
    """The listing's sort key, read without mapping the whole order (the poll reads thousands)."""
    number, stamp = raw.get("orderNo"), raw.get("lastModified")
    if not isinstance(number, str) or not number:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "SFCC order row without an orderNo")
    try:
        return _utc(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")))
    except ValueError:
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID, f"SFCC order {number}: lastModified {stamp!r} is not a date-time"
        ) from None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_sfcc_datetime(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds and Z, as the spec's examples write it (2015-05-19T15:30:18.000Z)."""
    value = _utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _money(value: Decimal | None, *, what: str, order_no: str) -> Decimal:
    if value is None:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"SFCC order {order_no}: {what} is missing")
    return value


def _address(wire: WireAddress | None, email: str) -> Address:
    if wire is None:
        return Address(email=email)
    name = wire.fullName.strip() or " ".join(part for part in (wire.firstName.strip(), wire.lastName.strip()) if part)
    line2 = ", ".join(part.strip() for part in (wire.suite, wire.address2, wire.postBox) if part.strip())
    return Address(
        name=name,
        company=wire.companyName,
        line1=wire.address1,
        line2=line2,
        city=wire.city,
        region=wire.stateCode,
        postcode=wire.postalCode,
        country=wire.countryCode.upper(),
        email=email,
        phone=wire.phone,
    )


def _adjustment(adjustment: WirePriceAdjustment, gross: bool) -> Decimal:
    """An adjustment's amount in the order's taxation: its gross or net price, else its base price."""
    value = adjustment.grossPrice if gross else adjustment.netPrice
    if value is None:
        value = adjustment.basePrice
    return value if value is not None else Decimal(0)


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: exact for money (at most 15 significant digits survive a float)."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{value} cannot travel as a JSON number exactly")
    return as_float


def _line(item: WireProductItem, order_no: str) -> OrderLine:
    """Per line: priceAfterOrderDiscount (order discounts prorated by SFCC) and adjustedTax (card §4)."""
    after_item = item.priceAfterItemDiscount
    after_order = item.priceAfterOrderDiscount
    if after_order is None and after_item is None:
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID,
            f"SFCC order {order_no}: product item {item.productId} has no price after discounts",
        )
    total = after_order if after_order is not None else after_item
    assert total is not None
    share = after_item - after_order if after_item is not None and after_order is not None else Decimal(0)
    tax = item.adjustedTax if item.adjustedTax is not None else item.tax
    unit_price = item.basePrice if item.basePrice is not None else Decimal(0)
    return OrderLine(
        sku=item.productId,
        name=item.productName,
        quantity=item.quantity,
        unit_price=unit_price,
        tax=_money(tax, what=f"tax of item {item.productId}", order_no=order_no),
        total=total,
        tax_rate=item.taxRate,
        order_discount=share,
    )


def to_order(raw: dict[str, Any]) -> Order:
    """One SCAPI Order as the canonical Order, in the order's own currency and taxation."""
    wire = wire_order(raw)
    number = wire.orderNo
    currency = wire.currency.strip().upper()
    try:
        minor_unit_exponent(currency)
    except ValueError:
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID, f"SFCC order {number}: currency {wire.currency!r} is not an ISO 4217 code"
        ) from None
    if wire.taxation is None:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"SFCC order {number}: taxation (gross|net) is missing")
    shipment = wire.shipments[0] if wire.shipments else None
    email = wire.customerInfo.email if wire.customerInfo else ""
    gross = wire.taxation == "gross"
    # Order-level adjustments are negative prices; we carry the discount as a positive amount.
    adjustments = -sum((_adjustment(a, gross) for a in wire.orderPriceAdjustments), Decimal(0))
    return Order(
        source=SOURCE,
        source_id=number,
        order_number=number,
        customer_reference=wire.customerOrderReference,
        status=wire.status,
        authorised=wire.status in PLACED and wire.confirmationStatus == "confirmed",
        delivery_service=shipment.shippingMethod.id if shipment and shipment.shippingMethod else "",
        currency=currency,
        lines=tuple(_line(item, number) for item in wire.productItems),
        shipping_address=_address(shipment.shippingAddress if shipment else None, email),
        shipping_total=_money(wire.shippingTotal, what="shippingTotal", order_no=number),
        shipping_tax=wire.shippingTotalTax if wire.shippingTotalTax is not None else Decimal(0),
        tax_total=_money(wire.taxTotal, what="taxTotal", order_no=number),
        total=_money(wire.orderTotal, what="orderTotal", order_no=number),
        tax_inclusive=gross,
        order_discount=adjustments,
        updated_at=_utc(wire.lastModified) if wire.lastModified else None,
    )


def tracking_patch(attributes: tuple[str, str], tracking_numbers: list[str], carrier: str) -> dict[str, str]:
    """PATCH /orders/{no} body: only c_ attributes are accepted (card §5); numbers comma-separated [I]."""
    numbers_attribute, carrier_attribute = attributes
    body = {numbers_attribute: ",".join(dict.fromkeys(number.strip() for number in tracking_numbers if number.strip()))}
    if carrier.strip():
        body[carrier_attribute] = carrier.strip()
    return body


def inventory_record(amount: int, reset_date: datetime) -> dict[str, Any]:
    """OCAPI Data ProductInventoryRecord body (card §6 [V] shape): allocation, never ATS.

    `reset_date` is the master's snapshot time: SFCC counts turnover (orders) since then, so orders placed
    after the snapshot are still deducted once and those before it not twice [I].
    """
    if amount < 0:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"allocation must be >= 0, got {amount}")
    return {"allocation": {"amount": amount, "reset_date": format_sfcc_datetime(reset_date)}}


def price_record(amount: Decimal, currency: str) -> dict[str, Any]:
    """A price-table entry for one product in a single-currency price book [I]: the card has no shape."""
    return {"amount": json_number(amount), "currency_mnemonic": currency}


def product_document(
    product: Product, fields: Iterable[str], attributes: Mapping[str, str], localized: Iterable[str]
) -> dict[str, Any]:
    """The OCAPI Data product attributes for `fields` of a canonical product [I]: only fields with an
    attribute configured, and never an empty value (clearing a field is not a sync)."""
    wrapped = set(localized)
    body: dict[str, Any] = {}
    for field in fields:
        attribute = attributes.get(field)
        value = getattr(product, field, None)
        if attribute is None or value is None or value == "":
            continue
        wire = json_number(value) if isinstance(value, Decimal) else value
        body[attribute] = {"default": wire} if attribute in wrapped else wire
    return body


def product_fields_held(document: Mapping[str, Any], attributes: Mapping[str, str]) -> dict[str, str]:
    """Canonical field -> the value SFCC holds, as text (a localized value's default), for the fields mapped."""
    held: dict[str, str] = {}
    for field, attribute in attributes.items():
        value = document.get(attribute)
        if isinstance(value, dict):
            value = value.get("default")
        if value is not None and value != "":
            held[field] = str(value)
    return held
