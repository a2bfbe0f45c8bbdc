"""commercetools wire models (only the fields we read) and the mapping to canonical models, plus the pure
decisions a write-back makes from a freshly read order: which delivery to add, which shipment state follows.

Platform field names stop here. Money is integer minor units on the wire (`centAmount`, `fractionDigits`,
card §2) and becomes an exact Decimal: never a float on the way.
"""

# ruff: noqa: N815  (wire models spell the platform's camelCase field names)
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.connectors.commercetools.settings import CommercetoolsSettings, ReleaseTrigger
from shared.errors import PermanentError
from shared.models import Address, Order, OrderLine, ReasonCode
from shared.models.product import Product
from shared.models.returns import ReturnDisposition, ReturnNotice
from shared.models.shipment import Shipment
from shared.models.stock import StockRow

SOURCE = "commercetools"


class Wire(BaseModel):
    """A platform payload: extra fields are the platform's business, not a bug at our boundary."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Reference(Wire):
    typeId: str = ""
    id: str = ""
    key: str = ""


class Money(Wire):
    """`centPrecision` (integer minor units) or `highPrecision` (`preciseAmount` at more fraction digits)."""

    type: Literal["centPrecision", "highPrecision"] = "centPrecision"
    currencyCode: str
    centAmount: int
    fractionDigits: int = Field(2, ge=0, le=20)
    preciseAmount: int | None = None

    @property
    def amount(self) -> Decimal:
        precise = self.type == "highPrecision" and self.preciseAmount is not None
        minor = self.preciseAmount if precise and self.preciseAmount is not None else self.centAmount
        return Decimal(minor).scaleb(-self.fractionDigits)


class TaxedPrice(Wire):
    totalNet: Money
    totalGross: Money
    totalTax: Money | None = None

    @property
    def tax(self) -> Decimal:
        return self.totalTax.amount if self.totalTax is not None else self.totalGross.amount - self.totalNet.amount


class Price(Wire):
    value: Money


class Variant(Wire):
    id: int
    sku: str | None = None


class LineItem(Wire):
    id: str
    productId: str = ""
    name: dict[str, str] = Field(default_factory=dict)
    variant: Variant
    quantity: int
    price: Price
    totalPrice: Money
    taxedPrice: TaxedPrice | None = None
    supplyChannel: Reference | None = None


class CustomLineItem(Wire):
    id: str
    name: dict[str, str] = Field(default_factory=dict)
    slug: str = ""
    quantity: int
    money: Money
    totalPrice: Money
    taxedPrice: TaxedPrice | None = None


class CtAddress(Wire):
    firstName: str | None = None
    lastName: str | None = None
    company: str | None = None
    streetName: str | None = None
    streetNumber: str | None = None
    additionalStreetInfo: str | None = None
    building: str | None = None
    apartment: str | None = None
    postalCode: str | None = None
    city: str | None = None
    region: str | None = None
    state: str | None = None
    country: str = ""
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None


class TrackingData(Wire):
    trackingId: str | None = None
    carrier: str | None = None
    isReturn: bool = False


class DeliveryItem(Wire):
    id: str
    quantity: int


class Parcel(Wire):
    id: str = ""
    key: str | None = None
    trackingData: TrackingData | None = None
    items: tuple[DeliveryItem, ...] = ()


class Delivery(Wire):
    id: str
    key: str | None = None
    items: tuple[DeliveryItem, ...] = ()
    parcels: tuple[Parcel, ...] = ()

    @property
    def tracking_ids(self) -> frozenset[str]:
        return frozenset(
            parcel.trackingData.trackingId
            for parcel in self.parcels
            if parcel.trackingData and parcel.trackingData.trackingId
        )


class ShippingInfo(Wire):
    shippingMethodName: str = ""
    price: Money | None = None
    taxedPrice: TaxedPrice | None = None
    deliveries: tuple[Delivery, ...] = ()


class SyncInfo(Wire):
    channel: Reference
    externalId: str | None = None
    syncedAt: str = ""


class ReturnItem(Wire):
    id: str = ""
    key: str | None = None
    comment: str | None = None
    lineItemId: str | None = None
    customLineItemId: str | None = None
    quantity: int
    shipmentState: str = ""


class ReturnInfo(Wire):
    items: tuple[ReturnItem, ...] = ()
    returnTrackingId: str | None = None
    returnDate: str | None = None


class CustomFields(Wire):
    type: Reference
    fields: dict[str, Any] = Field(default_factory=dict)


class CtOrder(Wire):
    id: str
    version: int
    orderNumber: str | None = None
    purchaseOrderNumber: str | None = None
    customerEmail: str | None = None
    orderState: str
    paymentState: str | None = None
    shipmentState: str | None = None
    state: Reference | None = None
    store: Reference | None = None
    lineItems: tuple[LineItem, ...] = ()
    customLineItems: tuple[CustomLineItem, ...] = ()
    totalPrice: Money
    taxedPrice: TaxedPrice | None = None
    taxedShippingPrice: TaxedPrice | None = None
    shippingInfo: ShippingInfo | None = None
    shippingAddress: CtAddress | None = None
    syncInfo: tuple[SyncInfo, ...] = ()
    returnInfo: tuple[ReturnInfo, ...] = ()
    custom: CustomFields | None = None
    createdAt: datetime
    lastModifiedAt: datetime

    @property
    def reference(self) -> str:
        """`orderNumber` is optional on the platform (§2): the id stands in when it is absent."""
        return self.orderNumber or self.id

    @property
    def deliveries(self) -> tuple[Delivery, ...]:
        return self.shippingInfo.deliveries if self.shippingInfo else ()


class InventoryEntry(Wire):
    id: str
    version: int
    key: str | None = None
    sku: str
    supplyChannel: Reference | None = None
    quantityOnStock: int
    availableQuantity: int
    lastModifiedAt: datetime | None = None


class ProductVariant(Wire):
    id: int
    sku: str | None = None
    key: str | None = None


class ProductData(Wire):
    name: dict[str, str] = Field(default_factory=dict)
    masterVariant: ProductVariant
    variants: tuple[ProductVariant, ...] = ()


class ProductCatalogData(Wire):
    published: bool = False
    current: ProductData
    staged: ProductData


class CtProduct(Wire):
    id: str
    version: int
    key: str | None = None
    masterData: ProductCatalogData
    lastModifiedAt: datetime


class Subscription(Wire):
    id: str
    version: int
    key: str | None = None
    status: str = ""
    destination: dict[str, Any] = Field(default_factory=dict)


# -- parsing ---------------------------------------------------------------------------------------


def parse(model: type[Any], payload: Any, what: str) -> Any:
    """Validate a platform payload; a malformed one is permanent (PAYLOAD_INVALID naming what and where)."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, f"commercetools {what}: {where}: {first['msg']}") from exc


def localized(names: dict[str, str], locale: str) -> str:
    """The name in `locale`, else its language (`en` for `en-GB`), else any: names are LocalizedStrings."""
    if locale in names:
        return names[locale]
    language = locale.split("-")[0]
    for key, value in names.items():
        if key.split("-")[0] == language:
            return value
    return next(iter(names.values()), "")


# -- order -> canonical ------------------------------------------------------------------------------


def is_released(order: CtOrder, settings: CommercetoolsSettings) -> bool:
    """The fresh order is in the state the client's trigger names, and not cancelled (§2 safe trigger)."""
    if order.orderState == "Cancelled":
        return False
    match settings.release_trigger:
        case ReleaseTrigger.PAYMENT_PAID:
            return order.paymentState == "Paid"
        case ReleaseTrigger.ORDER_CONFIRMED:
            return order.orderState == "Confirmed"
        case ReleaseTrigger.STATE_TRANSITION:
            return order.state is not None and order.state.id == settings.release_state_id
    raise AssertionError(settings.release_trigger)


def _same_currency(currency: str, money: Money | None, where: str) -> None:
    if money is not None and money.currencyCode != currency:
        raise PermanentError(
            ReasonCode.PAYLOAD_INVALID,
            f"commercetools order: {where} is in {money.currencyCode}, the order in {currency}",
        )


def _line(item: LineItem, currency: str, locale: str) -> OrderLine:
    _same_currency(currency, item.totalPrice, f"line {item.id}")
    if not item.variant.sku:
        raise PermanentError(
            ReasonCode.SKU_INVALID, f"commercetools order line {item.id}: variant {item.variant.id} has no SKU"
        )
    total = item.taxedPrice.totalGross.amount if item.taxedPrice else item.totalPrice.amount
    return OrderLine(
        sku=item.variant.sku,
        name=localized(item.name, locale),
        quantity=Decimal(item.quantity),
        unit_price=_unit_net(item),
        tax=item.taxedPrice.tax if item.taxedPrice else Decimal(0),
        total=total,
        line_id=item.id,
    )


def _unit_net(item: LineItem) -> Decimal:
    """The unit price ex tax after discounts: the line's `taxedPrice.totalNet` over its quantity. `price.value`
    is before line discounts and, where the tax rate is `includedInPrice` (UK VAT), gross: sent as a net price
    it would count the tax twice. Without taxedPrice (no tax calculated) the line's `totalPrice` stands in."""
    net = item.taxedPrice.totalNet if item.taxedPrice else item.totalPrice
    if item.quantity <= 0:
        return item.price.value.amount
    return net.amount / Decimal(item.quantity)


def _custom_line(item: CustomLineItem, currency: str, locale: str) -> OrderLine:
    """A custom line (gift wrap, a fee) has no SKU: flagged, so no warehouse is asked to pick it."""
    _same_currency(currency, item.totalPrice, f"custom line {item.id}")
    return OrderLine(
        sku="",
        name=localized(item.name, locale) or item.slug,
        quantity=Decimal(item.quantity),
        unit_price=item.money.amount,
        tax=item.taxedPrice.tax if item.taxedPrice else Decimal(0),
        total=item.taxedPrice.totalGross.amount if item.taxedPrice else item.totalPrice.amount,
        line_id=item.id,
        custom=True,
    )


def _join(*parts: str | None, sep: str = " ") -> str:
    return sep.join(part.strip() for part in parts if part and part.strip())


def to_address(address: CtAddress | None, email: str | None) -> Address:
    if address is None:
        return Address(email=email or "")
    return Address(
        name=_join(address.firstName, address.lastName),
        company=address.company or "",
        line1=_join(address.streetNumber, address.streetName),
        line2=_join(address.apartment, address.building, address.additionalStreetInfo, sep=", "),
        city=address.city or "",
        region=address.region or address.state or "",
        postcode=address.postalCode or "",
        country=address.country.upper(),
        email=address.email or email or "",
        phone=address.phone or address.mobile or "",
    )


def _location(order: CtOrder, settings: CommercetoolsSettings) -> str:
    """The warehouse location every line's supply channel names; "" when they disagree or none is set."""
    locations = {
        settings.location_for(item.supplyChannel.id) or "" if item.supplyChannel else "" for item in order.lineItems
    }
    return locations.pop() if len(locations) == 1 else ""


def to_order(order: CtOrder, settings: CommercetoolsSettings) -> Order:
    """The canonical order; `authorised` is the client's release trigger applied to this (fresh) read."""
    currency = order.totalPrice.currencyCode
    taxed = order.taxedPrice
    _same_currency(currency, taxed.totalGross if taxed else None, "taxedPrice")
    shipping = order.shippingInfo
    # Canonical shipping is ex tax with its tax apart (tax_inclusive stays False), as every line is.
    shipping_taxed = order.taxedShippingPrice or (shipping.taxedPrice if shipping is not None else None)
    if shipping_taxed is not None:
        shipping_total, shipping_tax = shipping_taxed.totalNet.amount, shipping_taxed.tax
    elif shipping is not None and shipping.price is not None:
        shipping_total, shipping_tax = shipping.price.amount, Decimal(0)
    else:
        shipping_total, shipping_tax = Decimal(0), Decimal(0)
    lines = tuple(_line(item, currency, settings.locale) for item in order.lineItems)
    lines += tuple(_custom_line(item, currency, settings.locale) for item in order.customLineItems)
    return Order(
        source=SOURCE,
        source_id=order.id,
        order_number=order.reference,
        customer_reference=order.purchaseOrderNumber or "",
        status=order.orderState,
        payment_status=order.paymentState or "",
        authorised=is_released(order, settings),
        location=_location(order, settings),
        delivery_service=shipping.shippingMethodName if shipping else "",
        currency=currency,
        # The unit the order's value is stated in (centPrecision: the currency's own, KWD 3). Taken from the
        # money that gives `total`: the vendor mock states totalPrice at 0 digits beside a 2-digit taxedPrice.
        minor_unit=(taxed.totalGross if taxed else order.totalPrice).fractionDigits,
        lines=lines,
        shipping_address=to_address(order.shippingAddress, order.customerEmail),
        shipping_total=shipping_total,
        shipping_tax=shipping_tax,
        tax_total=taxed.tax if taxed else Decimal(0),
        total=taxed.totalGross.amount if taxed else order.totalPrice.amount,
        updated_at=order.lastModifiedAt,
        source_version=order.version,
        warehouse_ids=tuple(
            info.externalId
            for info in order.syncInfo
            if info.externalId and settings.sync_channel_id and info.channel.id == settings.sync_channel_id
        ),
    )


# -- deliveries (§3) --------------------------------------------------------------------------------


def delivered_quantities(order: CtOrder) -> dict[str, int]:
    """Line item id -> quantity already in a delivery."""
    done: dict[str, int] = {}
    for delivery in order.deliveries:
        for item in delivery.items:
            done[item.id] = done.get(item.id, 0) + item.quantity
    return done


def existing_delivery(order: CtOrder, shipment: Shipment) -> Delivery | None:
    """The delivery an earlier write of this shipment made, if any.

    Matched by key (our despatch id) where the platform kept it, else by the same non-empty set of
    tracking numbers: the key is optional on a delivery and not every server returns it, while the
    parcels' tracking data always reads back. A despatch without tracking numbers is recognised by key only.
    """
    tracking = frozenset(shipment.tracking_numbers)
    for delivery in order.deliveries:
        if delivery.key and delivery.key == delivery_key(shipment):
            return delivery
        if tracking and delivery.tracking_ids == tracking:
            return delivery
    return None


def delivery_key(shipment: Shipment) -> str:
    """Delivery keys allow 2-256 of [a-zA-Z0-9_-]: the warehouse's despatch id, made to fit."""
    cleaned = "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in f"{shipment.warehouse}-{shipment.parcel_id}")
    return cleaned[:256]


def delivery_items(order: CtOrder, shipment: Shipment) -> list[DeliveryItem]:
    """Shipped SKU quantities spread over the order's lines that still have quantity open.

    A SKU may sit on several lines (another supply channel or price); each line takes what it still
    owes, in order. A SKU not on the order, or more than is open, is refused: writing it would close
    the wrong line or over-deliver.
    """
    done = delivered_quantities(order)
    open_by_line = {item.id: item.quantity - done.get(item.id, 0) for item in order.lineItems}
    items: dict[str, int] = {}
    for line in shipment.lines:
        if line.quantity != line.quantity.to_integral_value() or line.quantity <= 0:
            raise PermanentError(
                ReasonCode.QUANTITY_INVALID, f"shipment {shipment.parcel_id}: {line.sku} x {line.quantity}"
            )
        wanted = int(line.quantity)
        candidates = [item for item in order.lineItems if item.variant.sku == line.sku]
        if not candidates:
            raise PermanentError(
                ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER,
                f"shipment {shipment.parcel_id}: {line.sku} is not on order {order.reference}",
            )
        for item in candidates:
            take = min(wanted, open_by_line[item.id])
            if take > 0:
                items[item.id] = items.get(item.id, 0) + take
                open_by_line[item.id] -= take
                wanted -= take
        if wanted:
            raise PermanentError(
                ReasonCode.SHIPMENT_OVER_QUANTITY,
                f"shipment {shipment.parcel_id}: {line.sku} {wanted} more than order {order.reference} has open",
            )
    return [DeliveryItem(id=line_id, quantity=quantity) for line_id, quantity in items.items()]


def shipment_state_after(order: CtOrder, items: Iterable[DeliveryItem], settings: CommercetoolsSettings) -> str:
    """Shipped when every line is fully delivered once these items are, else Partial."""
    done = delivered_quantities(order)
    for item in items:
        done[item.id] = done.get(item.id, 0) + item.quantity
    complete = all(done.get(line.id, 0) >= line.quantity for line in order.lineItems)
    return settings.shipment_states.shipped if complete else settings.shipment_states.partial


def delivery_actions(order: CtOrder, shipment: Shipment, settings: CommercetoolsSettings) -> list[dict[str, Any]]:
    """The update actions that record this shipment on this (fresh) order; [] when it is already there.

    One parcel per tracking number; the items go on the parcel only when there is exactly one (with
    several we do not know which item went in which box).
    """
    if existing_delivery(order, shipment) is not None:
        return []
    items = delivery_items(order, shipment)
    if not items:
        return []
    wire_items = [item.model_dump() for item in items]
    parcels = [
        {
            "trackingData": {"trackingId": number, "carrier": shipment.carrier or None, "isReturn": False},
            **({"items": wire_items} if len(shipment.tracking_numbers) == 1 else {}),
        }
        for number in shipment.tracking_numbers
    ]
    actions: list[dict[str, Any]] = [
        {"action": "addDelivery", "deliveryKey": delivery_key(shipment), "items": wire_items, "parcels": parcels}
    ]
    state = shipment_state_after(order, items, settings)
    if state != order.shipmentState:
        actions.append({"action": "changeShipmentState", "shipmentState": state})
    return actions


# -- sync info, returns (§3, §5) --------------------------------------------------------------------


def has_sync_info(order: CtOrder, channel_id: str, external_id: str) -> bool:
    return any(info.channel.id == channel_id and info.externalId == external_id for info in order.syncInfo)


class ReturnLine(Wire):
    """One returned line, by SKU as the warehouse reports it."""

    sku: str
    quantity: int = Field(gt=0)


def return_actions(
    order: CtOrder,
    lines: Iterable[ReturnLine],
    *,
    tracking_id: str | None,
    return_date: datetime | None,
    shipment_state: Literal["Advised", "Returned"] = "Returned",
) -> list[dict[str, Any]]:
    """An addReturnInfo for these lines; [] when a return with the same tracking id and items is there.

    Return items' keys are optional and not every server keeps them, so sameness is the tracking id plus
    the (line, quantity) set.
    """
    items: dict[str, int] = {}
    for line in lines:
        match = next((item for item in order.lineItems if item.variant.sku == line.sku), None)
        if match is None:
            raise PermanentError(
                ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER, f"return: {line.sku} is not on order {order.reference}"
            )
        items[match.id] = items.get(match.id, 0) + line.quantity
    wanted = frozenset(items.items())
    for info in order.returnInfo:
        have = frozenset((item.lineItemId or "", item.quantity) for item in info.items)
        if info.returnTrackingId == tracking_id and have == wanted:
            return []
    action: dict[str, Any] = {
        "action": "addReturnInfo",
        "items": [
            {"lineItemId": line_id, "quantity": qty, "shipmentState": shipment_state} for line_id, qty in items.items()
        ],
    }
    if tracking_id:
        action["returnTrackingId"] = tracking_id
    if return_date:
        action["returnDate"] = format_datetime(return_date)
    return [action]


def return_key(return_id: str, index: int) -> str:
    """A return item's key (2-256 of [a-zA-Z0-9_-]): the warehouse's return id and the line's position."""
    cleaned = "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in return_id)
    return f"return-{cleaned}-{index}"[:256]


def return_marker(warehouse: str, return_id: str) -> str:
    """The item comment that names the warehouse's return: keys are optional and not every server keeps
    them, the comment reads back."""
    return f"{warehouse} return {return_id}"


def warehouse_return_actions(
    order: CtOrder, notice: ReturnNotice, states: Mapping[ReturnDisposition, str]
) -> list[dict[str, Any]]:
    """The update that records this warehouse return on this (fresh) order; [] once it is all there.

    First `addReturnInfo`, one item per returned line (shipmentState Returned: the goods are back at the
    warehouse); then, once the platform has given the items their ids, `setReturnShipmentState` per item to
    what the warehouse did with its units (BackInStock or Unusable, card §5). The return is recognised by
    its items' comment naming the warehouse's return id (their key too, where the server keeps it), never
    assumed from an earlier attempt; items read back in the order they were added.
    """
    marker = return_marker(notice.warehouse, notice.return_id)
    mine = [item for info in order.returnInfo for item in info.items if item.comment == marker]
    if not mine:
        items = []
        for index, line in enumerate(notice.lines):
            match = next((item for item in order.lineItems if item.variant.sku == line.sku), None)
            if match is None:
                raise PermanentError(
                    ReasonCode.SHIPMENT_SKU_NOT_ON_ORDER, f"return: {line.sku} is not on order {order.reference}"
                )
            items.append(
                {
                    "lineItemId": match.id,
                    "quantity": line.quantity,
                    "shipmentState": "Returned",
                    "comment": marker,
                    "key": return_key(notice.return_id, index),
                }
            )
        action: dict[str, Any] = {
            "action": "addReturnInfo",
            "items": items,
            "returnDate": format_datetime(notice.returned_on),
        }
        if notice.tracking_id:
            action["returnTrackingId"] = notice.tracking_id
        return [action]
    return [
        {"action": "setReturnShipmentState", "returnItemId": item.id, "shipmentState": states[line.disposition]}
        for item, line in zip(mine, notice.lines, strict=False)
        if item.shipmentState != states[line.disposition]
    ]


# -- inventory, products (§4) -----------------------------------------------------------------------


def to_stock_row(entry: InventoryEntry, settings: CommercetoolsSettings) -> StockRow:
    """`availableQuantity` is stock less reservations (read-only, eventually consistent): the sellable figure."""
    channel = entry.supplyChannel.id if entry.supplyChannel else ""
    return StockRow(
        sku=entry.sku,
        location=settings.location_for(channel) or channel,
        available=Decimal(entry.availableQuantity),
        on_hand=Decimal(entry.quantityOnStock),
        allocated=Decimal(entry.quantityOnStock - entry.availableQuantity),
        updated_at=entry.lastModifiedAt,
    )


def product_variants(product: CtProduct, settings: CommercetoolsSettings) -> list[Product]:
    """Every variant with a SKU, from the staged data (what will sell next) and the current (what sells now)."""
    found: dict[str, Product] = {}
    for data in (product.masterData.staged, product.masterData.current):
        for variant in (data.masterVariant, *data.variants):
            if variant.sku and variant.sku not in found:
                found[variant.sku] = Product(
                    source=SOURCE,
                    source_id=f"{product.id}/{variant.id}",
                    sku=variant.sku,
                    name=localized(data.name, settings.locale),
                    active=product.masterData.published,
                    updated_at=product.lastModifiedAt,
                )
    return list(found.values())


def format_datetime(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as the platform writes timestamps (so string order is time order)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def quote(value: str) -> str:
    """A string literal for a query predicate (`where`): double quotes, backslash-escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
