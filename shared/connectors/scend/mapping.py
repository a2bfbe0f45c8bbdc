"""Scend wire models and the canonical <-> wire mapping; Scend field names stop here.

There is no public Scend API document: the shape is inferred from Mintsoft, confirm with Scend
(Scend API reference card, section 3). Fields are PascalCase as Mintsoft names them.

Money: the canonical order holds Decimal, sent at the order's own minor unit: the decimals its source
states (commercetools fractionDigits, 3 for KWD, BHD, JOD, OMR, TND), else the currency's ISO 4217 minor
unit. The card (3.2) gives OrderValue, TotalVat, UnitPrice and the rest as plain JSON numbers and states no
limit on their decimals (its one example is GBP at 2 dp) [I]: a 3-decimal amount is sent with its 3
decimals, a question for Scend (card section 4). The order's own amounts (value, VAT, shipping) of a source
that states its minor unit go exactly or not at all: one finer than that unit is refused (the order is
quarantined), never rounded. Per-unit figures are divided out of line totals and are rounded half up at the
minor unit, as are the amounts of a source that states none (Cin7 Core's 4-dp figures). Each is sent as a
JSON number whose text is exactly its digits: `json` writes a float with `repr`, the shortest string that
reads back as the same float, so for any amount of at most 15 significant digits the JSON text is the
Decimal's own digits (Decimal("33.95") -> 33.95, never 33.950000000000003). `json_number` checks that round
trip and refuses an amount it cannot send exactly. This keeps the request a plain dict that httpx can
serialise, with no custom encoder to forget on another code path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, ValidationError

from shared.errors import PermanentError
from shared.models import Order, OrderLine, ReasonCode, WarehouseStatus
from shared.models.currency import minor_unit_exponent
from shared.models.product import Product
from shared.models.returns import ReturnDisposition, ReturnedLine, ReturnNotice
from shared.models.shipment import Shipment, ShipmentLine
from shared.models.stock import RejectedPush, StockPush, StockRow

PENNY_DECIMALS = 2


# Mintsoft OrderStatusId -> neutral status (card section 3.3; ids from GET /api/Order/Statuses).
STATUS_BY_ID: dict[int, WarehouseStatus] = {
    1: WarehouseStatus.NEW,  # New
    2: WarehouseStatus.NEW,  # Printed
    3: WarehouseStatus.CANCELLED,
    4: WarehouseStatus.DESPATCHED,
    5: WarehouseStatus.DESPATCHED,  # Invoiced (after despatch)
    6: WarehouseStatus.DESPATCHED,  # Invoice failed (after despatch)
    7: WarehouseStatus.ON_HOLD,  # Holding
    8: WarehouseStatus.ON_HOLD,  # Failed
    9: WarehouseStatus.BACKORDER,  # On back order
    10: WarehouseStatus.NEW,  # Awaiting confirmation
    11: WarehouseStatus.NEW,  # Awaiting documentation
    12: WarehouseStatus.NEW,  # Awaiting payment
    13: WarehouseStatus.ON_HOLD,  # Query raised
    14: WarehouseStatus.PACKED,  # Pack and hold
    15: WarehouseStatus.AWAITING_PICKING,
    16: WarehouseStatus.PICKING,  # Picking started
    17: WarehouseStatus.PICKED,
    18: WarehouseStatus.ON_HOLD,  # Fraud risk
    19: WarehouseStatus.PICKING,  # Picking skipped
    20: WarehouseStatus.PACKED,
    21: WarehouseStatus.BACKORDER,  # Awaiting replen
    22: WarehouseStatus.NEW,  # Processing
    23: WarehouseStatus.PICKED,  # Rebinned
}


def neutral_status(status_id: int | None) -> str:
    """The neutral status for a Mintsoft OrderStatusId; "unknown" for an id the table lacks."""
    if status_id is None:
        return WarehouseStatus.UNKNOWN.value
    return STATUS_BY_ID.get(status_id, WarehouseStatus.UNKNOWN).value


# -- wire models ---------------------------------------------------------------------------------


class WireRequest(BaseModel):
    """What we send: our own shape, so unknown fields are a bug."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WireResponse(BaseModel):
    """What we read: the platform may add fields at any time, so extras are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class OrderItemRequest(WireRequest):
    SKU: str
    Quantity: int
    UnitPrice: Decimal
    UnitPriceVat: Decimal


class OrderRequest(WireRequest):
    """Body of PUT /api/Order (Mintsoft NewOrder)."""

    OrderNumber: str
    ExternalOrderReference: str | None = None
    ClientId: int
    WarehouseId: int | None = None
    Channel: str
    CourierService: str
    FirstName: str
    LastName: str | None = None
    CompanyName: str | None = None
    Address1: str
    Address2: str | None = None
    Town: str
    County: str | None = None
    PostCode: str
    Country: str
    Email: str | None = None
    Phone: str | None = None
    Currency: str
    OrderValue: Decimal
    TotalVat: Decimal
    ShippingTotalExVat: Decimal | None = None
    ShippingTotalVat: Decimal | None = None
    OrderItems: list[OrderItemRequest]


class CreatedOrderItem(WireResponse):
    SKU: str | None = None
    ID: int | None = None


class CreateOrderResult(WireResponse):
    """One element of the PUT /api/Order response array (Mintsoft NewOrderResult)."""

    OrderId: int | None = None
    OrderNumber: str | None = None
    Success: bool = False
    OrderStatusId: int | None = None
    OrderStatus: str | None = None
    Message: str | None = None
    OrderItems: list[CreatedOrderItem] | None = None


class OrderRow(WireResponse):
    """An order as GET /api/Order/{id} and /api/Order/Search return it (Mintsoft Order)."""

    ID: int
    OrderNumber: str
    ExternalOrderReference: str | None = None
    OrderStatusId: int | None = None
    LastUpdated: str | None = None


class ProductRow(WireResponse):
    """A row of GET /api/Product/Search (Mintsoft Product)."""

    ID: int | None = None
    SKU: str
    Name: str | None = None
    EAN: str | None = None
    Weight: float | str | None = None
    Height: float | str | None = None
    Width: float | str | None = None
    Depth: float | str | None = None
    CommodityCode: str | None = None
    CountryOfManufacture: str | None = None
    CustomsDescription: str | None = None


# Canonical product field -> Mintsoft product field (INFERRED from the Mintsoft Product model; confirm with
# Scend). Units: kg and cm as the canonical Product; Mintsoft's own units are not documented.
PRODUCT_FIELD_NAMES: dict[str, str] = {
    "name": "Name",
    "barcode": "EAN",
    "weight_kg": "Weight",
    "length_cm": "Depth",
    "width_cm": "Width",
    "height_cm": "Height",
    "commodity_code": "CommodityCode",
    "country_of_origin": "CountryOfManufacture",
    "customs_description": "CustomsDescription",
}


def product_fields(row: ProductRow) -> dict[str, str]:
    """What the warehouse holds, as canonical field -> string ('' when absent)."""
    values: dict[str, str] = {}
    for field, wire in PRODUCT_FIELD_NAMES.items():
        value = getattr(row, wire, None)
        values[field] = "" if value is None else str(value)
    return values


def product_request(product: Product, fields: tuple[str, ...], *, client_id: int) -> dict[str, Any]:
    """The PUT/POST /api/Product body with only `fields` (a field the warehouse owns is never sent)."""
    body: dict[str, Any] = {"SKU": product.sku, "ClientId": client_id}
    for field in fields:
        value = getattr(product, field)
        if value is None or value == "":
            continue
        # Weights and sizes keep their own precision (json_number rounds money to pennies).
        wire = PRODUCT_FIELD_NAMES[field]
        body[wire] = float(format(value.normalize(), "f")) if isinstance(value, Decimal) else value
    return body


def parse_create_results(body: Any) -> list[CreateOrderResult]:
    """The create response is an array; a bare ToolkitResult object is accepted too."""
    rows = body if isinstance(body, list) else [body]
    return [CreateOrderResult.model_validate(row) for row in rows]


def parse_order_rows(body: Any) -> list[OrderRow]:
    if body is None:
        return []
    rows = body if isinstance(body, list) else [body]
    return [OrderRow.model_validate(row) for row in rows]


def parse_product_rows(body: Any) -> list[ProductRow]:
    if body is None:
        return []
    rows = body if isinstance(body, list) else [body]
    return [ProductRow.model_validate(row) for row in rows]


# -- refusal messages ----------------------------------------------------------------------------

# Mintsoft reports refusals in the ToolkitResult Message with no code; these patterns cover the
# wording our simulator uses and the obvious variants. Confirm the exact wording with Scend.
_DUPLICATE = re.compile(r"\b(already exists|duplicate)\b", re.IGNORECASE)
_UNKNOWN_SKU = re.compile(
    r"\b(sku|product)\b.*\b(not found|does not exist|doesn't exist|unknown|not recognised)"
    r"|\b(unknown|invalid) sku\b",
    re.IGNORECASE,
)


def is_duplicate_message(message: str) -> bool:
    """The warehouse refused because the OrderNumber is already there."""
    return bool(_DUPLICATE.search(message)) and "order" in message.lower()


def is_unknown_sku_message(message: str) -> bool:
    """The warehouse refused because a line's SKU is not in its catalogue."""
    return bool(_UNKNOWN_SKU.search(message))


# A product write refused for its SKU's format (INFERRED wording: "Invalid SKU ...", "SKU ... too long").
_SKU_FORMAT = re.compile(
    r"\b(invalid|bad|illegal) sku\b|\bsku\b.*\b(invalid|too long|length|characters?|whitespace|spaces?|format)\b",
    re.IGNORECASE,
)


def is_product_exists_message(message: str) -> bool:
    """A product create refused because the SKU is already in the catalogue."""
    return bool(_DUPLICATE.search(message))


def product_refusal_reason(message: str, sku: str) -> ReasonCode:
    """SKU_INVALID when the refusal is about the SKU's format, else WAREHOUSE_REJECTED.

    The SKU's own text is taken out first, so "Invalid EAN '12AB' for product 'SKU-1'" is not read
    as a SKU problem just because the SKU contains the letters "sku".
    """
    text = message.replace(sku, "<sku>") if sku else message
    return ReasonCode.SKU_INVALID if _SKU_FORMAT.search(text) else ReasonCode.WAREHOUSE_REJECTED


# -- canonical -> wire ---------------------------------------------------------------------------


def rounded(value: Decimal, decimals: int = PENNY_DECIMALS) -> Decimal:
    """Half up at `decimals` (a per-unit figure divided out of a line total cannot always be exact)."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def money_decimals(order: Order) -> int:
    """The decimals the order's money travels in: its source's stated minor unit, else its currency's."""
    return order.minor_unit if order.minor_unit is not None else minor_unit_exponent(order.currency)


def order_amount(value: Decimal, order: Order, what: str) -> Decimal:
    """One of the order's own amounts at its minor unit: exactly, when the source states that unit (an
    amount finer than it cannot be represented, so the order is refused for quarantine); rounded half up
    when the source states none."""
    decimals = money_decimals(order)
    amount = rounded(value, decimals)
    if order.minor_unit is not None and amount != value:
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID,
            f"order {order.order_number}: {what} {value} {order.currency} is finer than the order's minor unit "
            f"({decimals} decimals); not rounded",
        )
    return amount


def json_number(value: Decimal, decimals: int = PENNY_DECIMALS) -> float:
    """A money Decimal as a float whose JSON text is exactly its digits at `decimals` (see module docstring)."""
    amount = rounded(value, decimals)
    number = float(amount)
    if Decimal(repr(number)) != amount:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"amount {value} cannot be sent exactly as a JSON number")
    return number


def split_name(name: str) -> tuple[str, str | None]:
    """First word -> FirstName, the rest -> LastName; one word leaves LastName empty.

    Splitting at the first space keeps multi-word family names ("Jan van der Berg") together;
    the label prints "FirstName LastName", so the person's name is unchanged either way.
    """
    words = name.split()
    if not words:
        return "", None
    return words[0], (" ".join(words[1:]) or None)


# Aliases operators type for ISO codes; anything else must already be ISO 3166-1 alpha-2.
_COUNTRY_ALIASES = {"UK": "GB"}


def country_code(country: str) -> str:
    code = country.strip().upper()
    code = _COUNTRY_ALIASES.get(code, code)
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise PermanentError(ReasonCode.COUNTRY_UNSUPPORTED, f"country '{country}' is not an ISO 3166-1 alpha-2 code")
    return code


def whole_quantity(line: OrderLine) -> int:
    """Warehouses pick whole units: a fractional or non-positive quantity is refused, not rounded."""
    quantity = line.quantity
    if not quantity.is_finite() or quantity <= 0 or quantity != quantity.to_integral_value():
        raise PermanentError(
            ReasonCode.QUANTITY_INVALID, f"SKU '{line.sku}': quantity {quantity} is not a positive whole number"
        )
    return int(quantity)


def to_order_item(line: OrderLine, decimals: int = PENNY_DECIMALS) -> OrderItemRequest:
    """Unit price after the line discount, ex VAT; VAT per unit from the line's tax amount; both at the
    order's minor unit (`decimals`).

    Assumes OrderLine.unit_price is ex VAT and OrderLine.tax is the whole line's tax (as Cin7 Core
    reports them); Mintsoft's own Discount field is not used because its unit is undocumented.
    """
    quantity = whole_quantity(line)
    unit_price = line.unit_price * (1 - line.discount_percent / 100)
    return OrderItemRequest(
        SKU=line.sku,
        Quantity=quantity,
        UnitPrice=rounded(unit_price, decimals),
        UnitPriceVat=rounded(line.tax / quantity, decimals),
    )


def _shipping(order: Order) -> tuple[Decimal, Decimal | None]:
    """Shipping ex VAT, and its VAT when derivable (order VAT minus line VAT, when lines carry VAT)."""
    if order.shipping_total == 0:
        return Decimal("0"), Decimal("0")
    line_tax = sum((line.tax for line in order.lines), Decimal("0"))
    residual = order.tax_total - line_tax
    if line_tax == 0 and order.tax_total != 0:
        return order.shipping_total, None  # lines carry no VAT: cannot tell what is shipping's
    return order.shipping_total, (residual if residual >= 0 else None)


def _money_fields(value: Any, decimals: int) -> Any:
    if isinstance(value, Decimal):
        return json_number(value, decimals)
    if isinstance(value, dict):
        return {key: _money_fields(item, decimals) for key, item in value.items()}
    if isinstance(value, list):
        return [_money_fields(item, decimals) for item in value]
    return value


def to_order_request(
    order: Order,
    client_reference: str,
    courier_service: str,
    *,
    client_id: int,
    warehouse_id: int | None,
    channel: str,
) -> dict[str, Any]:
    """The PUT /api/Order body for a canonical order, as JSON-ready data (money exact at its minor unit)."""
    if not order.lines:
        raise PermanentError(ReasonCode.NO_LINES, f"order {order.order_number} has no lines")
    address = order.shipping_address
    first_name, last_name = split_name(address.name)
    missing = [
        label
        for label, value in (
            ("name", first_name),
            ("line1", address.line1),
            ("city", address.city),
            ("postcode", address.postcode),
            ("country", address.country),
        )
        if not value.strip()
    ]
    if missing:
        raise PermanentError(
            ReasonCode.ADDRESS_INCOMPLETE,
            f"order {order.order_number}: shipping address lacks {', '.join(missing)}",
        )
    lines_value = sum((line.total for line in order.lines), Decimal(0))
    if order.total <= 0 < lines_value:
        # The source connector derives the value when the source leaves it out; a zero here is a bug upstream.
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID,
            f"order {order.order_number}: order value {order.total} while its lines total {lines_value}; "
            "not sent with a zero OrderValue",
        )
    shipping_ex_vat, shipping_vat = _shipping(order)
    decimals = money_decimals(order)
    request = OrderRequest(
        OrderNumber=client_reference,
        ExternalOrderReference=order.order_number or None,
        ClientId=client_id,
        WarehouseId=warehouse_id,
        Channel=channel,
        CourierService=courier_service,
        FirstName=first_name,
        LastName=last_name,
        CompanyName=address.company.strip() or None,
        Address1=address.line1.strip(),
        Address2=address.line2.strip() or None,
        Town=address.city.strip(),
        County=address.region.strip() or None,
        PostCode=address.postcode.strip(),
        Country=country_code(address.country),
        Email=address.email.strip() or None,
        Phone=address.phone.strip() or None,
        Currency=order.currency,
        OrderValue=order_amount(order.total, order, "order value"),
        TotalVat=order_amount(order.tax_total, order, "VAT"),
        ShippingTotalExVat=order_amount(shipping_ex_vat, order, "shipping"),
        ShippingTotalVat=None if shipping_vat is None else order_amount(shipping_vat, order, "shipping VAT"),
        OrderItems=[to_order_item(line, decimals) for line in order.lines],
    )
    body: dict[str, Any] = _money_fields(request.model_dump(exclude_none=True), decimals)
    return body


# -- shipments (wire -> canonical) -----------------------------------------------------------------

WAREHOUSE = "scend"


def parse_scend_datetime(value: Any) -> datetime | None:
    """ISO 8601 with or without an offset and with 0-7 fraction digits; a zone-less value is taken as UTC.

    [I] Mintsoft may send UK local time without an offset. The cursor stays consistent either way:
    `format_since` writes a zone-less value back the way it was read, so the feed's own clock is kept.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected an ISO 8601 date, got {value!r}") from None
    else:
        raise ValueError(f"expected an ISO 8601 date, got {type(value).__name__}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_since(moment: datetime) -> str:
    """SinceDate as yyyy-MM-ddTHH:mm:ss in UTC (naive input is taken as UTC).

    Seconds are truncated, never rounded up: a cursor that lands a little early re-reads a parcel
    (harmless, parcels are applied once by their id), one that lands late could skip one.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _identifier(value: Any) -> Any:
    """Mintsoft ids are integers; accept a numeric string, refuse blanks, booleans and other types."""
    if isinstance(value, bool) or value is None:
        raise ValueError("a numeric id is required")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"id {value} is not positive")
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"expected a numeric id, got {value!r}")


def _required_text(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("must not be blank")
    return value.strip() if isinstance(value, str) else value


def _optional_text(value: Any) -> Any:
    return "" if value is None else (value.strip() if isinstance(value, str) else value)


def _sku(value: Any) -> Any:
    """The SKU travels exactly as the warehouse spells it; only a blank one is refused here."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a SKU is required")
    return value


def _whole_quantity(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"expected a quantity, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected a quantity, got {value!r}") from None
    if not number.is_finite() or number <= 0 or number != number.to_integral_value():
        raise ValueError(f"quantity {value!r} is not a positive whole number")
    return Decimal(int(number))


def _required_datetime(value: Any) -> datetime:
    parsed = parse_scend_datetime(value)
    if parsed is None:
        raise ValueError("a date is required")
    return parsed


def _tracking_numbers(value: Any) -> tuple[str, ...]:
    """A list of numbers or one comma/semicolon-separated string; empty strings mean none."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts: list[Any] = re.split(r"[,;]", value)
    elif isinstance(value, list | tuple):
        parts = [piece for item in value for piece in (re.split(r"[,;]", item) if isinstance(item, str) else [item])]
    else:
        raise ValueError(f"expected a list of tracking numbers or a string, got {type(value).__name__}")
    numbers: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise ValueError(f"tracking number {part!r} is not text")
        number = part.strip()
        if number and number not in numbers:
            numbers.append(number)
    return tuple(numbers)


def _items(value: Any) -> Any:
    if value is None or (isinstance(value, list) and not value):
        raise ValueError("a despatched order must carry at least one item")
    return value


def _optional_int(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


class DespatchItemRow(WireResponse):
    """An OrderItems row of a despatched order (Order/List with IncludeOrderItems=true, or Order/{id}/Items)."""

    SKU: Annotated[str, BeforeValidator(_sku)]
    Quantity: Annotated[Decimal, BeforeValidator(_whole_quantity)]


class DespatchedOrderRow(WireResponse):
    """A row of GET Order/List?OrderStatusId=4&SinceDespatchDate= (card 3.2 and 3.5 [V]): the order that left.

    Part and NumberOfParts are [V] fields whose meaning is [I]: NumberOfParts above 1 marks one part of a
    split order. OrderItems is None when the answer left them out (then read from Order/{id}/Items).
    """

    ID: Annotated[str, BeforeValidator(_identifier)]
    OrderNumber: Annotated[str, BeforeValidator(_required_text)]
    OrderStatusId: int | None = None
    DespatchDate: Annotated[datetime, BeforeValidator(_required_datetime)]
    LastUpdated: Annotated[datetime | None, BeforeValidator(parse_scend_datetime)] = None
    CourierServiceName: Annotated[str, BeforeValidator(_optional_text)] = ""
    CourierService: Annotated[str, BeforeValidator(_optional_text)] = ""
    TrackingNumber: Annotated[tuple[str, ...], BeforeValidator(_tracking_numbers)] = ()
    TrackingURL: Annotated[str, BeforeValidator(_optional_text)] = ""
    Part: Annotated[int | None, BeforeValidator(_optional_int)] = None
    NumberOfParts: Annotated[int | None, BeforeValidator(_optional_int)] = None
    OrderItems: list[DespatchItemRow] | None = None

    @property
    def is_split_part(self) -> bool:
        """One part of a split order other than the first (Part 1 keeps the order's own number) [I]."""
        return (self.NumberOfParts or 1) > 1 and self.Part != 1


class ParcelRow(WireResponse):
    """A row of GET Order/{id}/Shipments [V endpoint; fields I]: ID, OrderId, ParcelNo and the parcel's tracking
    number (TrackingNumber, or Number as the public client models it [C]). No OrderNumber and no items."""

    ID: int | str | None = None
    OrderId: int | str | None = None
    ParcelNo: Annotated[int | None, BeforeValidator(_optional_int)] = None
    TrackingNumber: Annotated[tuple[str, ...], BeforeValidator(_tracking_numbers)] = ()
    Number: Annotated[tuple[str, ...], BeforeValidator(_tracking_numbers)] = ()
    CourierType: Annotated[str, BeforeValidator(_optional_text)] = ""


class SplitRow(WireResponse):
    """A row of GET Order/{id}/Splits [V fields, I meaning]: OrderId was split, SplitOrderId is the part split off."""

    OrderId: Annotated[str, BeforeValidator(_identifier)]
    SplitOrderId: Annotated[str, BeforeValidator(_identifier)]
    Order: dict[str, Any] | None = None


def despatch_label(row: Any) -> str:
    """How a raw Order/List row is named in messages and logs, readable even when the row is not."""
    if not isinstance(row, dict):
        return "scend despatched order row"
    order_id, number = row.get("ID"), row.get("OrderNumber")
    label = f"scend despatched order {order_id}" if order_id not in (None, "") else "scend despatched order (no ID)"
    return f"{label} ({number})" if isinstance(number, str) and number.strip() else label


def order_id_of(row: Any) -> str:
    """The row's ID as text, or "" when it has none: a rejected row is keyed by it."""
    value = row.get("ID") if isinstance(row, dict) else None
    return "" if value is None or isinstance(value, bool) else str(value).strip()


def parse_despatched_order(row: Any) -> DespatchedOrderRow:
    """One Order/List row; PermanentError(PAYLOAD_INVALID) naming the field when it does not fit."""
    label = despatch_label(row)
    if not isinstance(row, dict):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: expected a JSON object, got {type(row).__name__}")
    try:
        return DespatchedOrderRow.model_validate(row)
    except ValidationError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: {_problems(exc)}") from None


def parse_items(body: Any, label: str) -> list[DespatchItemRow]:
    """Order/{id}/Items, or the OrderItems of a row: at least one whole-unit item."""
    try:
        rows = _items(body)
        if not isinstance(rows, list):
            raise ValueError(f"expected an array of items, got {type(rows).__name__}")
        return [DespatchItemRow.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: OrderItems: {_problems(exc)}") from None
    except ValueError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: OrderItems: {exc}") from None


def parse_parcels(body: Any, label: str) -> list[ParcelRow]:
    """Order/{id}/Shipments: an array of parcel rows (an empty or absent answer: no parcels)."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID, f"{label}: Shipments: expected an array, got {type(body).__name__}"
        )
    try:
        return [ParcelRow.model_validate(row) for row in body]
    except ValidationError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: Shipments: {_problems(exc)}") from None


def parent_reference(body: Any, order_id: str) -> tuple[str | None, str | None]:
    """From Order/{id}/Splits: (id, OrderNumber) of the order `order_id` was split from; (None, None) when
    it was split from none (it is the original order). The OrderNumber is None when the row holds no Order."""
    rows = body if isinstance(body, list) else []
    for row in rows:
        try:
            split = SplitRow.model_validate(row)
        except ValidationError:
            continue
        if split.SplitOrderId == order_id:
            number = (split.Order or {}).get("OrderNumber")
            return split.OrderId, (number.strip() if isinstance(number, str) and number.strip() else None)
    return None, None


def to_despatch(
    order: DespatchedOrderRow, items: list[DespatchItemRow], parcels: list[ParcelRow], client_reference: str
) -> Shipment:
    """One despatched order (a whole order, or one part of a split) as the canonical Shipment.

    The despatch's id is the despatched order's ID: stable however often the order is listed, one per
    order or split part, so it is the idempotency key of the write-back (parcel rows can be relabelled;
    the order that left cannot). Tracking numbers come from the parcel rows, else from the order's own
    TrackingNumber; empty strings mean none (card 3.5 [C]). The order number comes from the order (or,
    for a split part, from the order it was split from), never from a parcel row.
    """
    quantities: dict[str, Decimal] = {}
    for item in items:
        quantities[item.SKU] = quantities.get(item.SKU, Decimal(0)) + item.Quantity
    numbers: list[str] = []
    for parcel in parcels:
        for number in parcel.TrackingNumber or parcel.Number:
            if number not in numbers:
                numbers.append(number)
    if not numbers:
        numbers = list(order.TrackingNumber)
    carrier = next((parcel.CourierType for parcel in parcels if parcel.CourierType), "")
    return Shipment(
        warehouse=WAREHOUSE,
        parcel_id=order.ID,
        warehouse_order_id=order.ID,
        client_reference=client_reference,
        despatched_at=order.DespatchDate,
        carrier=carrier,
        service=order.CourierServiceName or order.CourierService,
        tracking_numbers=tuple(numbers),
        tracking_url=order.TrackingURL,
        lines=tuple(ShipmentLine(sku=sku, quantity=quantity) for sku, quantity in quantities.items()),
        updated_at=order.DespatchDate,
    )


def _problems(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "required field is missing" if error["type"] == "missing" else error["msg"]
        message = message.removeprefix("Value error, ")
        parts.append(f"field '{field}': {message}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


# -- stock -----------------------------------------------------------------------------------------
# GET /api/Product/StockLevels [V] (meaning of the fields [C], Scend card 3.6): TotalStockLevel is on
# hand, Level is on hand less what Scend's own orders hold (quarantined units still inside it), and the
# Breakdown (with Breakdown=true) splits the units by Type: Quarantine, Damaged, Available.


def _stock_number(value: Any) -> Decimal:
    """A stock figure: a whole or decimal number, possibly negative (an oversold Level)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _warehouse_id(value: Any) -> int:
    """A WarehouseId: a whole number, 0 meaning every warehouse summed."""
    if isinstance(value, bool) or value is None:
        raise ValueError("a WarehouseId is required")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"expected a numeric WarehouseId, got {value!r}")
    if number < 0:
        raise ValueError(f"WarehouseId {number} is negative")
    return number


def _breakdown(value: Any) -> Any:
    return [] if value is None else value


StockNumber = Annotated[Decimal, PlainValidator(_stock_number)]


class StockBreakdownRow(WireResponse):
    Quantity: StockNumber
    Type: Annotated[str, BeforeValidator(_optional_text)] = ""


class StockLevelRow(WireResponse):
    """A row of GET /api/Product/StockLevels."""

    ProductId: int | None = None
    WarehouseId: Annotated[int, PlainValidator(_warehouse_id)]
    SKU: Annotated[str, BeforeValidator(_sku)]
    Level: StockNumber
    TotalStockLevel: StockNumber
    LastUpdated: Annotated[datetime | None, BeforeValidator(parse_scend_datetime)] = None
    Breakdown: Annotated[list[StockBreakdownRow], BeforeValidator(_breakdown)] = []


def has_breakdown(row: Any) -> bool:
    """Whether a raw row carries its Breakdown list (an empty list counts: nothing held back). A feed row
    without one cannot say what is quarantined, so its figure is never used as it stands."""
    return isinstance(row, dict) and isinstance(row.get("Breakdown"), list)


def stock_key_of(row: Any) -> tuple[str, str] | None:
    """(SKU, WarehouseId) of a raw row as text, to spot a row a shifted page repeats; None when unreadable."""
    if not isinstance(row, dict) or not isinstance(row.get("SKU"), str):
        return None
    return row["SKU"], str(row.get("WarehouseId"))


QUARANTINE_TYPES = ("Quarantine",)  # card 3.6 [C]
DAMAGED_TYPES = ("Damaged",)  # INFERRED: the card names no damaged Type (settings.damaged_types)


def to_stock_row(
    row: Any,
    *,
    quarantine_types: tuple[str, ...] = QUARANTINE_TYPES,
    damaged_types: tuple[str, ...] = DAMAGED_TYPES,
) -> StockRow:
    """One StockLevels row as a StockRow (location = the WarehouseId as text); PermanentError(PAYLOAD_INVALID)
    naming the field when it does not fit. Breakdown types are matched case-insensitively, against the
    Types the settings hold back as quarantined or damaged."""
    key = stock_key_of(row)
    label = f"scend stock row {key[0]!r}" if key else "scend stock row"
    if not isinstance(row, dict):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: expected a JSON object, got {type(row).__name__}")
    try:
        wire = StockLevelRow.model_validate(row)
    except ValidationError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: {_problems(exc)}") from None

    def units(kinds: tuple[str, ...]) -> Decimal:
        wanted = {kind.casefold() for kind in kinds}
        return sum((part.Quantity for part in wire.Breakdown if part.Type.casefold() in wanted), Decimal(0))

    return StockRow(
        sku=wire.SKU,
        location=str(wire.WarehouseId),
        available=wire.Level,
        on_hand=wire.TotalStockLevel,
        allocated=wire.TotalStockLevel - wire.Level,
        quarantined=units(quarantine_types),
        damaged=units(damaged_types),
        updated_at=wire.LastUpdated,
    )


# POST /api/Product/ChannelStockLevels: INFERRED, no public document. A question for Scend: which call
# sets the sellable figure their channels see, does it take a batch, and how does it answer per row?


class StockPushResult(WireResponse):
    """One element of the ChannelStockLevels answer [I]."""

    SKU: str | None = None
    WarehouseId: int | None = None
    Success: bool = False
    Message: str | None = None


def stock_push_body(pushes: list[StockPush]) -> tuple[list[dict[str, Any]], list[RejectedPush]]:
    """The request rows, and the pushes refused before sending (a location that is not a WarehouseId).

    The last push for a SKU at a warehouse wins, so a batch never sets one figure twice."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    refused: list[RejectedPush] = []
    for push in pushes:
        text = push.location.strip()
        if not text.isdigit() or int(text) <= 0:
            refused.append(
                RejectedPush(
                    sku=push.sku,
                    location=push.location,
                    message=f"location {push.location!r} is not a Scend WarehouseId",
                )
            )
            continue
        rows[(push.sku, int(text))] = {"SKU": push.sku, "WarehouseId": int(text), "Quantity": push.quantity}
    return list(rows.values()), refused


def parse_stock_push_results(body: Any) -> list[StockPushResult]:
    """The answer is an array of per-row results; ValueError (pydantic's ValidationError is one) when not."""
    if not isinstance(body, list):
        raise ValueError(f"expected an array of results, got {type(body).__name__}")
    return [StockPushResult.model_validate(row) for row in body]


# -- returns (card 3.8) --------------------------------------------------------------------------------


class ReturnItemRow(WireResponse):
    """A ReturnItems row of GET Return/{id}: the card's AddItem fields (ProductId, Quantity, Action) [V];
    that a read row carries the same, and SKU besides, is [I]. `Action` is what the warehouse did with the
    units (the disposition), in its own words [I]."""

    ProductId: Annotated[str, BeforeValidator(_identifier)] | None = None
    SKU: str | None = None
    Quantity: Annotated[Decimal, BeforeValidator(_whole_quantity)]
    Action: Annotated[str, BeforeValidator(_required_text)]


class ReturnRow(WireResponse):
    """A return (GET Return/SearchByDate rows [I], GET Return/{id} [V]): `Confirmed` once the goods are
    booked in; ReturnItems None when the listing left them out (then read with Return/{id})."""

    ID: Annotated[str, BeforeValidator(_identifier)]
    OrderId: Annotated[str, BeforeValidator(_identifier)]
    OrderNumber: Annotated[str, BeforeValidator(_required_text)]
    Reference: str | None = None
    Confirmed: bool = False
    ReturnItems: list[ReturnItemRow] | None = None


class OrderProductRow(WireResponse):
    """An Order/{id}/Items row read for its ProductId -> SKU pairing (a return item may name only the product)."""

    ProductId: Annotated[str, BeforeValidator(_identifier)] | None = None
    SKU: Annotated[str, BeforeValidator(_sku)]


def parse_return(body: Any, label: str) -> ReturnRow:
    try:
        return ReturnRow.model_validate(body)
    except ValidationError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: {_problems(exc)}") from None


def parse_order_products(body: Any, label: str) -> dict[str, str]:
    """ProductId -> SKU of an order's items."""
    if not isinstance(body, list):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: OrderItems: expected an array")
    try:
        rows = [OrderProductRow.model_validate(row) for row in body]
    except ValidationError as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: OrderItems: {_problems(exc)}") from None
    return {row.ProductId: row.SKU for row in rows if row.ProductId}


def to_return_notice(
    row: ReturnRow,
    items: list[ReturnItemRow],
    sku_of_product: Callable[[], dict[str, str]],
    dispositions: Mapping[str, ReturnDisposition],
    returned_on: datetime,
    setting: str,
) -> ReturnNotice:
    """The canonical return; an item whose Action the client's table does not name is refused naming the
    setting (never guessed: a unit called back in stock that is not would be sold)."""
    label = f"scend return {row.ID} (order {row.OrderNumber})"
    by_action = {action.strip().lower(): disposition for action, disposition in dispositions.items()}
    lines: list[ReturnedLine] = []
    for item in items:
        disposition = by_action.get(item.Action.strip().lower())
        if disposition is None:
            raise PermanentError(
                ReasonCode.PAYLOAD_INVALID,
                f"{label}: return action {item.Action!r} is not in {setting}: say whether it is back in stock",
            )
        sku = item.SKU if item.SKU and item.SKU.strip() else sku_of_product().get(item.ProductId or "")
        if not sku:
            raise PermanentError(
                ReasonCode.PAYLOAD_INVALID, f"{label}: product {item.ProductId} is not among the order's items"
            )
        if item.Quantity <= 0:
            continue
        lines.append(ReturnedLine(sku=sku, quantity=int(item.Quantity), disposition=disposition))
    if not lines:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: no returned units")
    return ReturnNotice(
        warehouse="scend",
        return_id=row.ID,
        warehouse_order_id=row.OrderId,
        client_reference=row.OrderNumber,
        lines=tuple(lines),
        tracking_id=(row.Reference or "").strip(),
        returned_on=returned_on,
    )
