"""Canonical product: what the inventory master says a SKU is, and what the warehouse holds for it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.models.base import Model


class Product(Model):
    """A sellable item as its master (Cin7 Core) describes it. Dimensions in cm, weight in kg."""

    source: str
    source_id: str
    sku: str
    name: str
    barcode: str = ""
    weight_kg: Decimal | None = None
    length_cm: Decimal | None = None
    width_cm: Decimal | None = None
    height_cm: Decimal | None = None
    commodity_code: str = ""
    country_of_origin: str = ""
    customs_description: str = ""
    active: bool = True
    updated_at: datetime
    prices: dict[str, Decimal] = Field(
        default_factory=dict, description="price tier name -> unit price, in the currency that tier is kept in"
    )


class WarehouseProduct(Model):
    """The warehouse's record of a SKU: its own id and the fields as it currently holds them."""

    item_id: str
    sku: str
    fields: dict[str, str] = Field(default_factory=dict, description="canonical field name -> value as held")


class PriceList(Model):
    """Where one price tier of the master goes at a target that keeps single-currency lists (SFCC price books)."""

    tier: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    list_id: str


# Canonical field names a client config may assign to an owner (source or warehouse).
PRODUCT_FIELDS: tuple[str, ...] = (
    "name",
    "barcode",
    "weight_kg",
    "length_cm",
    "width_cm",
    "height_cm",
    "commodity_code",
    "country_of_origin",
    "customs_description",
)
