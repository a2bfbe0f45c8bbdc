"""Cin7 Core wire models (PascalCase, as Cin7 sends them) and their mapping to the canonical Order,
plus the fulfilment (pick / pack / ship) requests a shipment is written back with.

Only the parts of a Sale we read are modelled; everything else is ignored so new Cin7 fields never
break intake. A sale that does not fit raises PermanentError(PAYLOAD_INVALID) naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from shared.errors import PermanentError
from shared.flows.bounds import sane_magnitude
from shared.models import Address, FulfilmentStage, Model, Order, OrderLine, ReasonCode
from shared.models.product import Product
from shared.models.shipment import Shipment, ShipmentLine
from shared.models.stock import StockRow
from shared.ports import ChangeKind, OrderChange, SourceChange

SOURCE = "cin7_core"
AUTHORISED = "AUTHORISED"
VOIDED = "VOIDED"  # sale Status and Order.Status after DELETE sale?ID=&Void=true [V]
VOID_EVENT = "Sale/Voided"  # webhook EventType for a voided sale (thin payload with SaleID) [V]
NOTE_MARKER = "[Hopline]"


def note_with(existing: str, line: str) -> str | None:
    """The sale's Note with `line` appended, or None when the note already carries it (a retried write)."""
    entry = f"{NOTE_MARKER} {line}".strip()
    if entry in existing:
        return None
    return f"{existing.rstrip()}\n{entry}" if existing.strip() else entry


_HUNDRED = Decimal(100)


# -- scalar parsing --------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal:
    """A JSON number (int, float as parsed by json) or numeric string as an exact Decimal, via str."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        try:
            # str(float) is the shortest repr that round-trips, i.e. the digits Cin7 sent.
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    if not sane_magnitude(number):
        # Not a quantity or a price but a fault: refused here, no product or sum of the figures can overflow.
        raise PydanticCustomError("number_out_of_bounds", "number {value} is out of bounds", {"value": f"{number:.3E}"})
    return number


def _money(value: Any) -> Decimal:
    return Decimal(0) if value is None else to_decimal(value)


def _optional_money(value: Any) -> Decimal | None:
    return None if value is None else to_decimal(value)


def parse_cin7_datetime(value: Any) -> datetime | None:
    """Cin7 dates are UTC, sent with or without 'Z' and with 0-7 fraction digits; naive means UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        # Seven-digit .NET fractions are accepted by fromisoformat on 3.11+, but trim to be explicit.
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected an ISO 8601 date, got {value!r}") from None
    else:
        raise ValueError(f"expected an ISO 8601 date, got {type(value).__name__}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_cin7_datetime(moment: datetime) -> str:
    """The filter format Cin7 documents, yyyy-MM-ddTHH:mm:ss in UTC (naive input is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. a numeric postcode
    return value


def _required_text(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be blank")
    return value


def _guid(value: Any) -> Any:
    """Cin7 GUIDs are case-insensitive: the API sends lower case, webhooks upper case. Keep one form."""
    value = _required_text(value)
    return value.strip().lower() if isinstance(value, str) else value


def _list(value: Any) -> Any:
    return [] if value is None else value


Text = Annotated[str, BeforeValidator(_text)]
RequiredText = Annotated[str, BeforeValidator(_required_text)]
Guid = Annotated[str, BeforeValidator(_guid)]
Money = Annotated[Decimal, PlainValidator(_money)]
OptionalMoney = Annotated[Decimal | None, PlainValidator(_optional_money)]
Number = Annotated[Decimal, PlainValidator(to_decimal)]
Cin7DateTime = Annotated[datetime | None, PlainValidator(parse_cin7_datetime)]
RequiredCin7DateTime = Annotated[datetime, PlainValidator(lambda v: _required(parse_cin7_datetime(v)))]


def _required(value: datetime | None) -> datetime:
    if value is None:
        raise ValueError("a date is required")
    return value


# -- countries -------------------------------------------------------------------------------------

# Cin7 sends country names by default (CountryFormat=Regular). Keys are normalised: lower case,
# no dots, single spaces. Unknown names are kept as given so validation can refuse them by name.
_COUNTRIES: dict[str, str] = {
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "united kingdom (uk)": "GB",
    "ireland": "IE",
    "republic of ireland": "IE",
    "eire": "IE",
    "isle of man": "IM",
    "jersey": "JE",
    "guernsey": "GG",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "america": "US",
    "canada": "CA",
    "australia": "AU",
    "new zealand": "NZ",
    "germany": "DE",
    "deutschland": "DE",
    "france": "FR",
    "netherlands": "NL",
    "the netherlands": "NL",
    "netherlands (the)": "NL",
    "holland": "NL",
    "belgium": "BE",
    "luxembourg": "LU",
    "spain": "ES",
    "portugal": "PT",
    "italy": "IT",
    "austria": "AT",
    "switzerland": "CH",
    "denmark": "DK",
    "sweden": "SE",
    "norway": "NO",
    "finland": "FI",
    "iceland": "IS",
    "poland": "PL",
    "czech republic": "CZ",
    "czechia": "CZ",
    "greece": "GR",
    "south africa": "ZA",
    "japan": "JP",
    "singapore": "SG",
    "hong kong": "HK",
    "united arab emirates": "AE",
    "uae": "AE",
}


def country_code(name: str) -> str:
    """ISO 3166-1 alpha-2 for a Cin7 country name or code; an unknown name comes back as given."""
    given = name.strip()
    key = " ".join(given.replace(".", "").split()).casefold()
    if key in _COUNTRIES:
        return _COUNTRIES[key]
    if len(key) == 2 and key.isalpha():
        return key.upper()
    return given


# -- wire models -----------------------------------------------------------------------------------


class Wire(BaseModel):
    """Cin7 adds fields freely; ignore what we do not read."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class WireShippingAddress(Wire):
    Line1: Text = ""
    Line2: Text = ""
    City: Text = ""
    State: Text = ""
    Postcode: Text = ""
    Country: Text = ""
    Company: Text = ""
    Contact: Text = ""


class WireSaleLine(Wire):
    SKU: Text = ""
    Name: Text = ""
    Quantity: Number
    Price: Money = Decimal(0)
    Discount: Money = Decimal(0)
    Tax: Money = Decimal(0)
    Total: OptionalMoney = None


class WireAdditionalCharge(Wire):
    Description: Text = ""
    Price: Money = Decimal(0)
    Quantity: Money = Decimal(1)
    Discount: Money = Decimal(0)
    Tax: Money = Decimal(0)
    Total: OptionalMoney = None


class WireSaleOrder(Wire):
    """Sale.Order. TotalBeforeTax, Tax and Total are in the reference's Sale Order model but not on the card:
    read when sent, derived from the lines and charges when not (never taken as zero)."""

    SaleOrderNumber: Text = ""
    Status: Text = ""
    Lines: Annotated[list[WireSaleLine], BeforeValidator(_list)] = []
    AdditionalCharges: Annotated[list[WireAdditionalCharge], BeforeValidator(_list)] = []
    TotalBeforeTax: OptionalMoney = None
    Tax: OptionalMoney = None
    Total: OptionalMoney = None


class WireSale(Wire):
    """GET sale?ID= (the parts order intake reads)."""

    ID: Guid
    Status: RequiredText
    CustomerReference: Text = ""
    Location: Text = ""
    Carrier: Text = ""
    CustomerCurrency: Text = ""
    BaseCurrency: Text = ""
    Email: Text = ""
    Phone: Text = ""
    TaxInclusive: bool | None = None  # POST/PUT attribute; some reads echo it
    TaxCalculation: Text = ""  # read: "Inclusive" or "Exclusive" (reference, Sale fields)
    ShippingAddress: WireShippingAddress | None = None
    Order: WireSaleOrder | None = None
    LastModifiedOn: Cin7DateTime = None


class WireSaleListRow(Wire):
    """One row of GET saleList."""

    SaleID: Guid
    OrderNumber: Text = ""
    Status: Text = ""
    OrderStatus: Text = ""
    Updated: RequiredCin7DateTime


class WireSaleListPage(Wire):
    Total: int = Field(ge=0)
    Page: int = 1
    SaleList: Annotated[list[WireSaleListRow], BeforeValidator(_list)] = []


class WireSaleStateRow(WireSaleListRow):
    """A saleList row with the stage statuses a sale's live state is read from (card "Read" [V]: the rows carry
    Status and Combined*Status; ExternalID, our reference, as the filter of the same name implies [I])."""

    ExternalID: Text = ""
    CombinedPickingStatus: Text = ""
    CombinedPackingStatus: Text = ""
    CombinedShippingStatus: Text = ""


class WireSaleStatePage(Wire):
    Total: int = Field(ge=0)
    Page: int = 1
    SaleList: Annotated[list[WireSaleStateRow], BeforeValidator(_list)] = []


# -- mapping ---------------------------------------------------------------------------------------

W = TypeVar("W", bound=Wire)


def _validate(model: type[W], data: Any, what: str) -> W:
    if not isinstance(data, dict):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{what}: expected a JSON object, got {_kind(data)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PermanentError(_reason(exc), f"{what}: {_problems(exc)}") from None


def _reason(exc: ValidationError) -> ReasonCode:
    """An absurd quantity or price has its own reason (its owner fixes the figure, not the feed)."""
    for error in exc.errors():
        if error["type"] == "number_out_of_bounds":
            quantity = any(isinstance(part, str) and "quantity" in part.lower() for part in error["loc"])
            return ReasonCode.QUANTITY_OUT_OF_BOUNDS if quantity else ReasonCode.PRICE_OUT_OF_BOUNDS
    return ReasonCode.PAYLOAD_INVALID


def _kind(data: Any) -> str:
    return {list: "an array", str: "a string", type(None): "null"}.get(type(data), type(data).__name__)


def _problems(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "required field is missing" if error["type"] == "missing" else error["msg"]
        parts.append(f"field '{field}': {message}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _line_total(price: Decimal, quantity: Decimal, discount: Decimal) -> Decimal:
    return price * quantity * (_HUNDRED - discount) / _HUNDRED


def _sale_label(sale: Any) -> str:
    sale_id = sale.get("ID") if isinstance(sale, dict) else None
    return f"Cin7 sale {sale_id}" if isinstance(sale_id, str) and sale_id.strip() else "Cin7 sale"


def _tax_inclusive(wire: WireSale) -> bool | None:
    """Whether line and charge totals include tax: TaxCalculation on a read, TaxInclusive on a write; None unknown."""
    calculation = wire.TaxCalculation.strip().casefold()
    if calculation in ("inclusive", "exclusive"):
        return calculation == "inclusive"
    return wire.TaxInclusive


def order_totals(wire: WireSale, label: str) -> tuple[Decimal, Decimal]:
    """(total with tax, tax) of the sale order: as Cin7 sent them, else derived from the lines and charges.

    The card lists each line's and charge's Price, Quantity, Discount, Tax and Total; the reference's
    Sale Order model adds TotalBeforeTax, Tax and Total, which a sale may lack. Tax = sum of line and
    charge Tax. Total = Total if sent, else TotalBeforeTax + Tax, else the lines' and charges' totals
    (tax included when the sale is tax-inclusive, added when it is exclusive). When neither the totals
    nor the tax mode are there, the order value cannot be known: PAYLOAD_INVALID, never a silent zero.
    """
    stage = wire.Order or WireSaleOrder()
    rows: list[WireSaleLine | WireAdditionalCharge] = [*stage.Lines, *stage.AdditionalCharges]
    tax = stage.Tax if stage.Tax is not None else sum((row.Tax for row in rows), Decimal(0))
    if stage.Total is not None:
        return stage.Total, tax
    if stage.TotalBeforeTax is not None:
        return stage.TotalBeforeTax + tax, tax
    amounts = sum(
        (row.Total if row.Total is not None else _line_total(row.Price, row.Quantity, row.Discount) for row in rows),
        Decimal(0),
    )
    inclusive = _tax_inclusive(wire)
    if inclusive is None:
        if tax == 0:
            return amounts, tax  # no tax anywhere: inclusive and exclusive agree
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID,
            f"{label}: Order.Total is missing and neither TaxCalculation nor TaxInclusive says whether the lines' "
            "totals include tax, so the order value cannot be derived",
        )
    return (amounts if inclusive else amounts + tax), tax


def to_order(sale: Any) -> Order:
    """Map a GET sale?ID= body to the canonical Order; PermanentError(PAYLOAD_INVALID) when it does not fit."""
    label = _sale_label(sale)
    wire = _validate(WireSale, sale, label)
    stage = wire.Order or WireSaleOrder()
    currency = wire.CustomerCurrency or wire.BaseCurrency
    if not currency:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: field 'CustomerCurrency' is empty")
    address = wire.ShippingAddress or WireShippingAddress()
    total, tax_total = order_totals(wire, label)
    lines = tuple(
        OrderLine(
            sku=line.SKU.strip(),
            name=line.Name,
            quantity=line.Quantity,
            unit_price=line.Price,
            tax=line.Tax,
            discount_percent=line.Discount,
            total=line.Total if line.Total is not None else _line_total(line.Price, line.Quantity, line.Discount),
        )
        for line in stage.Lines
    )
    shipping_total = sum(
        (
            charge.Total if charge.Total is not None else _line_total(charge.Price, charge.Quantity, charge.Discount)
            for charge in stage.AdditionalCharges
        ),
        Decimal(0),
    )
    return Order(
        source=SOURCE,
        source_id=wire.ID,
        order_number=stage.SaleOrderNumber,
        customer_reference=wire.CustomerReference,
        status=wire.Status.strip(),
        authorised=stage.Status.strip().upper() == AUTHORISED,
        location=wire.Location,
        delivery_service=wire.Carrier,
        currency=currency.strip().upper(),
        lines=lines,
        shipping_address=Address(
            name=address.Contact,
            company=address.Company,
            line1=address.Line1,
            line2=address.Line2,
            city=address.City,
            region=address.State,
            postcode=address.Postcode.strip(),
            country=country_code(address.Country),
            email=wire.Email,
            phone=wire.Phone,
        ),
        shipping_total=shipping_total,
        tax_total=tax_total,
        total=total,
        updated_at=wire.LastModifiedOn,
        writeback_tokens=open_task_ids(sale, wire.ID),
    )


def open_task_ids(sale: dict[str, Any], sale_id: str) -> tuple[str, ...]:
    """The sale's fulfilment tasks a parcel can still go to (pick not authorised, no box yet), in task order,
    from the Fulfilments[] that GET sale carries. Unreadable tasks give none: the write-back then reads them."""
    try:
        tasks = parse_fulfilments({"SaleID": sale_id, "Fulfilments": sale.get("Fulfilments") or []}, sale_id)
    except PermanentError:
        return ()
    return tuple(task.task_id for task in tasks if task.pick_status != AUTHORISED and not task.boxes)


def to_change(row: Any) -> OrderChange:
    """Map one saleList row to an OrderChange."""
    return _change(_validate(WireSaleListRow, row, "Cin7 saleList row"))


def _change(row: WireSaleListRow) -> OrderChange:
    return OrderChange(source_id=row.SaleID, order_number=row.OrderNumber, status=row.Status, updated_at=row.Updated)


def parse_sale_changes(body: Any) -> tuple[int, list[SourceChange]]:
    """An unfiltered saleList page as (Total, changes with their kind): Status VOIDED is a cancellation,
    OrderStatus AUTHORISED an order for intake (what the filtered listings ask for), anything else neither."""
    page = _validate(WireSaleListPage, body, "Cin7 saleList page")
    return page.Total, [SourceChange(change=_change(row), kind=_kind_of(row)) for row in page.SaleList]


def _kind_of(row: WireSaleListRow) -> ChangeKind:
    if row.Status.upper() == VOIDED:
        return ChangeKind.CANCELLED
    if row.OrderStatus.upper() == AUTHORISED:
        return ChangeKind.READY
    return ChangeKind.OTHER


def parse_sale_list(body: Any) -> tuple[int, list[OrderChange]]:
    """A saleList page as (Total, changes); PAYLOAD_INVALID when the page or a row does not fit."""
    page = _validate(WireSaleListPage, body, "Cin7 saleList page")
    return page.Total, [_change(row) for row in page.SaleList]


def parse_sale_states(body: Any) -> tuple[int, list[WireSaleStateRow]]:
    """A saleList page as (Total, rows with their stage statuses); PAYLOAD_INVALID when it does not fit."""
    page = _validate(WireSaleStatePage, body, "Cin7 saleList page")
    return page.Total, list(page.SaleList)


# -- fulfilments (write-back of shipments) ----------------------------------------------------------

PICK, PACK, SHIP = "pick", "pack", "ship"
BOX_PREFIX = "Parcel "


def box_label(parcel_id: str) -> str:
    """The pack/ship Box a parcel is written under: how an already-applied parcel is recognised."""
    parcel = parcel_id.strip()
    if not parcel:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "shipment has a blank parcel id")
    return f"{BOX_PREFIX}{parcel}"


def carrier_label(shipment: Shipment) -> str:
    """Carrier and service as one Cin7 Carrier text ("DPD Next Day"), without repeating the carrier."""
    carrier, service = shipment.carrier.strip(), shipment.service.strip()
    if carrier and service:
        return service if service.casefold().startswith(carrier.casefold()) else f"{carrier} {service}"
    return carrier or service


def json_quantity(value: Decimal, sku: str) -> int | float:
    """A quantity as the JSON number Cin7 takes (>= 1, up to 4 dp); whole numbers go as integers."""
    if not value.is_finite() or value < 1 or value != value.quantize(Decimal("0.0001")):
        raise PermanentError(
            ReasonCode.QUANTITY_INVALID, f"SKU '{sku}': quantity {value} is not 1 or more with at most 4 decimals"
        )
    return int(value) if value == value.to_integral_value() else float(value)


def _shipment_quantities(shipment: Shipment) -> dict[str, Decimal]:
    """The parcel's quantity per SKU (lines merged, first-seen order); a parcel with no lines is refused."""
    if not shipment.lines:
        raise PermanentError(ReasonCode.NO_LINES, f"parcel {shipment.parcel_id} has no lines")
    quantities: dict[str, Decimal] = {}
    for line in shipment.lines:
        if not line.sku.strip():
            raise PermanentError(ReasonCode.SKU_INVALID, f"parcel {shipment.parcel_id} has a line with no SKU")
        quantities[line.sku] = quantities.get(line.sku, Decimal(0)) + line.quantity
    return quantities


def _location(location: str) -> str:
    if not location.strip():
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "a stock location is required to pick and pack")
    return location.strip()


def pick_request(task_id: str, shipment: Shipment, location: str) -> dict[str, Any]:
    """POST sale/fulfilment/pick: the parcel's lines, one per SKU, picked from `location` and authorised."""
    where = _location(location)
    return {
        "TaskID": task_id,
        "Status": AUTHORISED,
        "Lines": [
            {"SKU": sku, "Location": where, "Quantity": json_quantity(quantity, sku)}
            for sku, quantity in _shipment_quantities(shipment).items()
        ],
    }


def pack_request(task_id: str, shipment: Shipment, location: str) -> dict[str, Any]:
    """POST sale/fulfilment/pack: the same lines in one box named after the parcel, authorised."""
    where, box = _location(location), box_label(shipment.parcel_id)
    return {
        "TaskID": task_id,
        "Status": AUTHORISED,
        "Lines": [
            {"SKU": sku, "Location": where, "Quantity": json_quantity(quantity, sku), "Box": box}
            for sku, quantity in _shipment_quantities(shipment).items()
        ],
    }


def ship_request(task_id: str, shipment: Shipment) -> dict[str, Any]:
    """POST sale/fulfilment/ship: one shipped line per tracking number, all on the parcel's box.

    A parcel without a tracking number still ships (one line, empty TrackingNumber). TrackingURL is
    never sent: the card lists it as read-only on ship lines.
    """
    box = box_label(shipment.parcel_id)
    line: dict[str, Any] = {
        "ShipmentDate": format_cin7_datetime(shipment.despatched_at),
        "Carrier": carrier_label(shipment),
        "Box": box,
        "IsShipped": True,
    }
    numbers = shipment.tracking_numbers or ("",)
    return {
        "TaskID": task_id,
        "Status": AUTHORISED,
        "Lines": [{**line, "TrackingNumber": number} for number in numbers],
    }


def _bool(value: Any) -> Any:
    return False if value is None else value


class WirePickPackLine(Wire):
    SKU: Text = ""
    Quantity: Number
    Location: Text = ""
    Box: Text = ""


class WirePickPack(Wire):
    Status: Text = ""
    Lines: Annotated[list[WirePickPackLine], BeforeValidator(_list)] = []


class WireShipLine(Wire):
    ShipmentDate: Cin7DateTime = None
    Carrier: Text = ""
    Boxes: Text = ""  # the read name
    Box: Text = ""  # the write name, accepted in case a tenant echoes it
    TrackingNumber: Text = ""
    TrackingURL: Text = ""
    IsShipped: Annotated[bool, BeforeValidator(_bool)] = False


class WireShip(Wire):
    Status: Text = ""
    Lines: Annotated[list[WireShipLine], BeforeValidator(_list)] = []


class WireFulfilment(Wire):
    """One element of Fulfilments[] (GET sale/fulfilment?SaleID=, also inside GET sale)."""

    TaskID: Guid
    FulfillmentNumber: int = 0
    Pick: WirePickPack | None = None
    Pack: WirePickPack | None = None
    Ship: WireShip | None = None


class WireSaleFulfilments(Wire):
    SaleID: Guid
    Fulfilments: Annotated[list[WireFulfilment], BeforeValidator(_list)] = []


def _ship_boxes(line: WireShipLine, packed: set[str]) -> list[str]:
    """Boxes a ship line covers: the exact name when packed under it, else a comma-separated list."""
    text = (line.Boxes or line.Box).strip()
    if not text:
        return []
    if text in packed:
        return [text]
    return [part.strip() for part in text.split(",") if part.strip()]


def _per_sku(lines: Any) -> tuple[ShipmentLine, ...]:
    totals: dict[str, Decimal] = {}
    for sku, quantity in lines:
        totals[sku] = totals.get(sku, Decimal(0)) + quantity
    return tuple(ShipmentLine(sku=sku, quantity=quantity) for sku, quantity in totals.items() if quantity)


PARTLY_AUTHORISED = "PARTIALLY AUTHORISED"  # a ship stage with some of its boxes shipped


class FulfilmentTask(Model):
    """One Cin7 fulfilment task (TaskID) with its pick, pack and ship statuses as Cin7 writes them (upper
    case); `stage` is how far it has gone in the canonical vocabulary."""

    task_id: str
    pick_status: str = ""
    pack_status: str = ""
    ship_status: str = ""
    boxes: tuple[str, ...] = Field((), description="box / parcel labels on the task's pack or ship lines")
    picked: tuple[ShipmentLine, ...] = ()
    shipped: tuple[ShipmentLine, ...] = ()

    @property
    def stage(self) -> FulfilmentStage:
        if VOIDED in (self.pick_status, self.pack_status, self.ship_status):
            return FulfilmentStage.CANCELLED
        if self.ship_status == AUTHORISED:
            return FulfilmentStage.DESPATCHED
        if self.ship_status == PARTLY_AUTHORISED:
            return FulfilmentStage.PART_DESPATCHED
        if self.pack_status == AUTHORISED:
            return FulfilmentStage.PACKED
        if self.pick_status == AUTHORISED:
            return FulfilmentStage.PICKED
        return FulfilmentStage.ORDERED


def _task(wire: WireFulfilment) -> FulfilmentTask:
    pick, pack, ship = wire.Pick or WirePickPack(), wire.Pack or WirePickPack(), wire.Ship or WireShip()
    packed_boxes = [line.Box.strip() for line in pack.Lines if line.Box.strip()]
    shipped_boxes = {box for line in ship.Lines if line.IsShipped for box in _ship_boxes(line, set(packed_boxes))}
    boxes = list(dict.fromkeys(packed_boxes))
    for line in ship.Lines:
        boxes.extend(box for box in _ship_boxes(line, set(packed_boxes)) if box not in boxes)
    return FulfilmentTask(
        task_id=wire.TaskID,
        pick_status=pick.Status.strip().upper(),
        pack_status=pack.Status.strip().upper(),
        ship_status=ship.Status.strip().upper(),
        boxes=tuple(boxes),
        picked=_per_sku((line.SKU, line.Quantity) for line in pick.Lines),
        shipped=_per_sku((line.SKU, line.Quantity) for line in pack.Lines if line.Box.strip() in shipped_boxes),
    )


def parse_fulfilments(body: Any, sale_id: str) -> list[FulfilmentTask]:
    """GET sale/fulfilment?SaleID= (or a POST sale/fulfilment answer) as tasks in FulfillmentNumber order.

    picked = the task's pick lines per SKU whatever the pick status (read pick_status alongside);
    shipped = packed quantities of the boxes that a ship line marks IsShipped.
    """
    label = f"Cin7 fulfilments of sale {sale_id}"
    wire = _validate(WireSaleFulfilments, body, label)
    if wire.SaleID != sale_id.strip().lower():
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"{label}: the response is for sale {wire.SaleID}")
    ordered = sorted(enumerate(wire.Fulfilments), key=lambda pair: (pair[1].FulfillmentNumber, pair[0]))
    return [_task(task) for _, task in ordered]


def new_task_id(body: Any, sale_id: str) -> str | None:
    """The task a POST sale/fulfilment created, from its answer; None when the answer does not say.

    The card is silent on the answer. The reference shows the sale's fulfilment list ({SaleID,
    Fulfilments[]}: the new task is the highest FulfillmentNumber); servers also answer with the new
    task object alone ({TaskID, ...}, or a one-element array of it). Anything else is None: the caller
    reads the tasks back instead of guessing.
    """
    row = body[0] if isinstance(body, list) and len(body) == 1 else body
    if not isinstance(row, dict):
        return None
    if isinstance(row.get("Fulfilments"), list):
        try:
            wire = WireSaleFulfilments.model_validate(row)
        except ValidationError:
            return None
        if wire.SaleID != sale_id.strip().lower() or not wire.Fulfilments:
            return None
        ordered = sorted(enumerate(wire.Fulfilments), key=lambda pair: (pair[1].FulfillmentNumber, pair[0]))
        return ordered[-1][1].TaskID
    if "TaskID" in row:
        try:
            return WireFulfilment.model_validate(row).TaskID
        except ValidationError:
            return None
    return None


def added_task(tasks: list[FulfilmentTask]) -> str | None:
    """The task a POST sale/fulfilment added, found by reading the tasks back: the last one whose pick is
    DRAFT and which holds no box and no picked line (a new task's state)."""
    blank = [task for task in tasks if task.pick_status == "DRAFT" and not task.boxes and not task.picked]
    return blank[-1].task_id if blank else None


def _totals(rows: Any) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = {}
    for sku, box, quantity in rows:
        totals[(sku, box)] = totals.get((sku, box), Decimal(0)) + quantity
    return totals


def stage_on_task(fulfilments: Any, sale_id: str, task_id: str, stage: str) -> Any:
    """One stage object ({Status, Lines}) of one task, from a GET sale/fulfilment?SaleID= body; None when absent."""
    if not isinstance(fulfilments, dict) or str(fulfilments.get("SaleID") or "").strip().lower() != sale_id.lower():
        return None
    wanted = task_id.strip().lower()
    for task in fulfilments.get("Fulfilments") or []:
        if isinstance(task, dict) and str(task.get("TaskID") or "").strip().lower() == wanted:
            return task.get(stage.title())
    return None


def stage_applied(stage: str, current: Any, sent: dict[str, Any]) -> bool:
    """True when a stage read back (a task's Pick, Pack or Ship) already holds what `sent` asked for.

    Cin7 refuses a POST to a stage that is already authorised, so a request re-sent after its response
    was lost comes back refused: this tells "already done by the first attempt" from a real refusal.
    Pick and pack must match line for line (per SKU, and per box for pack); ship must be authorised
    with every tracking number sent shipped on the parcel's box.
    """
    if not isinstance(current, dict) or str(current.get("Status") or "").strip().upper() != AUTHORISED:
        return False
    try:
        if stage in (PICK, PACK):
            read = _validate(WirePickPack, current, f"Cin7 {stage}")
            boxed = stage == PACK
            held = _totals((line.SKU, line.Box.strip() if boxed else "", line.Quantity) for line in read.Lines)
            asked = _totals(
                (line["SKU"], line.get("Box", "") if boxed else "", to_decimal(line["Quantity"]))
                for line in sent["Lines"]
            )
            return held == asked
        read_ship = _validate(WireShip, current, "Cin7 ship")
    except PermanentError:
        return False
    shipped = {
        (box, line.TrackingNumber.strip())
        for line in read_ship.Lines
        if line.IsShipped
        for box in _ship_boxes(line, set())
    }
    return all((line["Box"], line["TrackingNumber"].strip()) in shipped for line in sent["Lines"])


# -- products --------------------------------------------------------------------------------------
_WEIGHT_TO_KG = {"kg": Decimal(1), "g": Decimal("0.001"), "lb": Decimal("0.45359237"), "oz": Decimal("0.028349523125")}
_SIZE_TO_CM = {"cm": Decimal(1), "mm": Decimal("0.1"), "m": Decimal(100), "in": Decimal("2.54")}


class WireProduct(Wire):
    """A row of GET product (Products[]). Units come as WeightUnits / DimensionsUnits [V]; HSCode and
    CountryOfOrigin are read when the tenant fills them (names INFERRED from the product model)."""

    ID: Annotated[str, BeforeValidator(_guid)]
    SKU: Annotated[str, BeforeValidator(_required_text)]
    Name: Annotated[str, BeforeValidator(_text)] = ""
    Barcode: Annotated[str, BeforeValidator(_text)] = ""
    Status: Annotated[str, BeforeValidator(_text)] = "Active"
    Weight: Any = None
    WeightUnits: Annotated[str, BeforeValidator(_text)] = "kg"
    Length: Any = None
    Width: Any = None
    Height: Any = None
    DimensionsUnits: Annotated[str, BeforeValidator(_text)] = "cm"
    HSCode: Annotated[str, BeforeValidator(_text)] = ""
    CountryOfOrigin: Annotated[str, BeforeValidator(_text)] = ""
    ShortDescription: Annotated[str, BeforeValidator(_text)] = ""
    LastModifiedOn: Any = None
    # Prices per tier column, PriceTier1..PriceTier10, in the tier's own currency [I]: the card lists no
    # price fields; the reference's Product model carries them. Read as "Tier 1".."Tier 10".
    PriceTier1: Any = None
    PriceTier2: Any = None
    PriceTier3: Any = None
    PriceTier4: Any = None
    PriceTier5: Any = None
    PriceTier6: Any = None
    PriceTier7: Any = None
    PriceTier8: Any = None
    PriceTier9: Any = None
    PriceTier10: Any = None

    def tier_prices(self) -> dict[str, Decimal]:
        """Tier name -> price; a tier at 0 (Cin7's value for a tier never filled) has no price [I]."""
        prices: dict[str, Decimal] = {}
        for number in range(1, 11):
            value = getattr(self, f"PriceTier{number}")
            if value in (None, ""):
                continue
            price = to_decimal(value)
            if price != 0:
                prices[f"Tier {number}"] = price
        return prices


def _measure(value: Any, unit: str, table: dict[str, Decimal], what: str) -> Decimal | None:
    if value in (None, "", 0, "0"):
        return None
    factor = table.get(unit.strip().lower())
    if factor is None:
        raise ValueError(f"unknown {what} unit {unit!r}")
    return (to_decimal(value) * factor).normalize()


def to_product(row: Any) -> Product:
    """One product row to the canonical Product (kg, cm); a malformed row raises PAYLOAD_INVALID."""
    wire = _validate(WireProduct, row, "product")
    try:
        updated = _required(parse_cin7_datetime(wire.LastModifiedOn))
        return Product(
            source="cin7_core",
            source_id=wire.ID,
            sku=wire.SKU,
            name=wire.Name,
            barcode=wire.Barcode,
            weight_kg=_measure(wire.Weight, wire.WeightUnits, _WEIGHT_TO_KG, "weight"),
            length_cm=_measure(wire.Length, wire.DimensionsUnits, _SIZE_TO_CM, "dimension"),
            width_cm=_measure(wire.Width, wire.DimensionsUnits, _SIZE_TO_CM, "dimension"),
            height_cm=_measure(wire.Height, wire.DimensionsUnits, _SIZE_TO_CM, "dimension"),
            commodity_code=wire.HSCode,
            country_of_origin=wire.CountryOfOrigin,
            customs_description=wire.ShortDescription,
            active=wire.Status.strip().lower() == "active",
            updated_at=updated,
            prices=wire.tier_prices(),
        )
    except (ValueError, TypeError) as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"Cin7 product {wire.SKU!r}: {exc}") from exc


def parse_product_page(body: Any) -> tuple[int, list[Any]]:
    """(Total, raw rows) of a GET product page; rows are mapped one by one so one bad row cannot stop a feed."""
    if not isinstance(body, dict) or not isinstance(body.get("Products", []), list):
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 product list: expected an object with Products[]")
    try:
        total = int(body.get("Total", 0))
    except (TypeError, ValueError) as exc:
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"Cin7 product list: Total {body.get('Total')!r}") from exc
    return total, list(body.get("Products", []))


# -- stock -----------------------------------------------------------------------------------------


class WireAvailabilityRow(Wire):
    """A row of GET ref/productavailability: one product x location x bin x batch [V]. Available is
    read (never OnHand) as the sellable figure [I]; StockOnHand is a value, not units, and is ignored."""

    ID: Annotated[str, BeforeValidator(_text)] = ""
    SKU: Annotated[str, BeforeValidator(_required_text)]
    Location: Annotated[str, BeforeValidator(_required_text)]
    Bin: Annotated[str, BeforeValidator(_text)] = ""
    Batch: Annotated[str, BeforeValidator(_text)] = ""
    ExpiryDate: Annotated[str, BeforeValidator(_text)] = ""
    OnHand: Money = Decimal(0)
    Allocated: Money = Decimal(0)
    Available: Number

    @property
    def identity(self) -> tuple[str, str, str, str, str, str]:
        """What makes a row one bin/batch: the same row seen twice (a page boundary shifted) counts once."""
        return (self.ID.lower(), self.SKU, self.Location, self.Bin, self.Batch, self.ExpiryDate)


def to_availability_row(row: Any) -> WireAvailabilityRow:
    """Validate one availability row; PermanentError(PAYLOAD_INVALID) naming the field when it does not fit."""
    sku = row.get("SKU") if isinstance(row, dict) else None
    return _validate(WireAvailabilityRow, row, f"Cin7 availability row {sku!r}" if sku else "Cin7 availability row")


def parse_availability_page(body: Any) -> tuple[int, list[Any]]:
    """(Total, raw rows) of a GET ref/productavailability page; rows are validated one by one."""
    if not isinstance(body, dict) or not isinstance(body.get("ProductAvailabilityList") or [], list):
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID, "Cin7 product availability: expected an object with ProductAvailabilityList[]"
        )
    try:
        total = int(body.get("Total", 0))
    except (TypeError, ValueError) as exc:
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID, f"Cin7 product availability: Total {body.get('Total')!r}"
        ) from exc
    return total, list(body.get("ProductAvailabilityList") or [])


def to_stock_row(parts: list[WireAvailabilityRow]) -> StockRow:
    """The bin/batch rows of one SKU at one location, summed into one StockRow."""
    first = parts[0]
    if any((part.SKU, part.Location) != (first.SKU, first.Location) for part in parts):
        raise ValueError("to_stock_row sums rows of one SKU and location only")
    return StockRow(
        sku=first.SKU,
        location=first.Location,
        available=sum((part.Available for part in parts), Decimal(0)),
        on_hand=sum((part.OnHand for part in parts), Decimal(0)),
        allocated=sum((part.Allocated for part in parts), Decimal(0)),
    )
