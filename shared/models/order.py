"""Canonical order: what every connector maps to and every flow decides on. No platform field names."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.models.base import Model


class Address(Model):
    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = Field("", description="ISO 3166-1 alpha-2 when the connector could map it")
    email: str = ""
    phone: str = ""


class OrderLine(Model):
    sku: str
    name: str = ""
    quantity: Decimal
    unit_price: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    discount_percent: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    line_id: str = Field("", description="the source's id for this line, where write-backs address lines by id")
    custom: bool = Field(False, description="a charge or service line with no SKU (commercetools custom line item)")
    tax_rate: Decimal | None = Field(None, description="the line's tax rate as a fraction (0.2 = 20 %), when known")
    order_discount: Decimal = Field(
        Decimal("0"),
        description="the line's share of order-level discounts as the source prorated it; `total` is after it",
    )


class Order(Model):
    """An order as read from its source; money is Decimal in the order's currency, never float."""

    source: str = Field(description="platform the order came from, e.g. cin7_core")
    source_id: str = Field(description="the source platform's immutable id for the order")
    order_number: str
    customer_reference: str = ""
    status: str = Field(description="the source's overall status, in its own vocabulary")
    authorised: bool = Field(description="the source has committed the order stage (stock allocated)")
    payment_status: str = Field("", description="the source's payment state, where it keeps one apart from status")
    location: str = Field("", description="fulfilment location name at the source")
    delivery_service: str = Field("", description="carrier/service as the source names it")
    currency: str = "GBP"
    minor_unit: int | None = Field(
        None,
        ge=0,
        le=20,
        description="decimals the source states its money in (commercetools fractionDigits): an amount finer is "
        "refused, never rounded; None when the source states none (the currency's ISO 4217 minor unit applies)",
    )
    lines: tuple[OrderLine, ...] = ()
    shipping_address: Address = Address()
    shipping_total: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    tax_inclusive: bool = Field(False, description="line and shipping amounts include tax (SFCC taxation=gross)")
    shipping_tax: Decimal = Field(Decimal("0"), description="tax on shipping_total, part of tax_total")
    order_discount: Decimal = Field(
        Decimal("0"), description="order-level discounts (positive), as the source reports them at order level"
    )
    updated_at: datetime | None = None
    writeback_tokens: tuple[str, ...] = Field(
        (),
        description="the source's own records a shipment write-back can go to, as read with the order (Cin7 Core: "
        "fulfilment task ids not yet picked), kept so the write-back needs no read of its own",
    )

    source_version: int | None = Field(
        None,
        description="the source's optimistic-concurrency version of the order as read (commercetools `version`), "
        "so a write-back can go against it without reading the order again; None where the source has none",
    )
    warehouse_ids: tuple[str, ...] = Field(
        (),
        description="the warehouse order ids the source already records on the order as read (commercetools "
        "syncInfo on the configured channel), so recording one needs no read to see whether it is there",
    )

    @property
    def key(self) -> str:
        """Business key within a client: (source, source id)."""
        return f"{self.source}#{self.source_id}"


class WarehouseOrderRef(Model):
    """What the warehouse tells us about an order we created (or found) there."""

    warehouse_order_id: str
    client_reference: str
    status: str = ""
    created: bool = Field(True, description="False when search-before-create found it already there")
    updated_at: datetime | None = Field(None, description="when the warehouse last changed it, when it says")
