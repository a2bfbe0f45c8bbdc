"""Settings for one SFCC (B2C Commerce) site, validated once: hosts, the release filter, attribute names, budget.

Field defaults follow the platform card (../shared/platforms/sfcc.md). Base URLs are derived from the
short code and instance host, and can be overridden so the sandbox simulator can stand in.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.config import RetryConfig
from shared.connectors.settings import PlatformSettings, SecretName

# SCAPI: offset + limit may never pass 10,000 on GET /orders; limit is 1-200 (card §2).
MAX_ORDERS_LIMIT = 200
MAX_ORDERS_WINDOW = 10_000
_ORGANIZATION = re.compile(r"^f_ecom_[a-z]{4}_(prd|stg|dev|s[0-9]{2}|[0-9]{3})$")  # the spec's pattern


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SfccReleaseFilter(_Settings):
    """Which orders are ready to leave SFCC (card §3 'Safe trigger' [I]): placed, ready to export, confirmed."""

    status: tuple[str, ...] = Field(("new",), min_length=1, max_length=2, description="SCAPI allows two at most")
    export_status: tuple[str, ...] = Field(("ready",), min_length=1, max_length=3)
    confirmation_status: str | None = "confirmed"
    payment_status: tuple[str, ...] | None = Field(
        None, description="e.g. ('paid',) when the site maintains payment status (it has no built-in behaviour)"
    )

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"new", "completed", "cancelled"}  # the spec's filterable statuses
        if not set(value) <= allowed:
            raise ValueError(f"status filter must be among {sorted(allowed)}")
        return value

    @field_validator("export_status")
    @classmethod
    def _exports(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"not_exported", "exported", "ready", "failed"}
        if not set(value) <= allowed:
            raise ValueError(f"export_status filter must be among {sorted(allowed)}")
        return value


class SfccTrackingAttributes(_Settings):
    """Order custom attributes that carry tracking: SCAPI PATCH /orders/{no} accepts only c_ attributes (§5)."""

    tracking_numbers: str = "c_trackingNumbers"
    carrier: str = "c_carrier"
    # Which parcels were written and the units each SKU has shipped: SCAPI keeps no shipment lines we can
    # write (card §5), so a shipment write-back is idempotent per parcel and knows when the order is whole.
    shipments: str = "c_hoplineShipments"

    @field_validator("tracking_numbers", "carrier", "shipments")
    @classmethod
    def _custom(cls, value: str) -> str:
        if not re.fullmatch(r"c_[A-Za-z0-9_]+", value):
            raise ValueError("must be a custom attribute name starting with c_")
        return value


class SfccPriceBook(_Settings):
    """A price book is single-currency (§4): one per (price tier, currency)."""

    tier: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    price_book_id: str = Field(min_length=1)


class SfccInventory(_Settings):
    """How sellable stock is written: OCAPI Data product inventory records, allocation only (card §6).

    The paths and the record's fields are [V]; what is marked [I] here is inference the card flags, each
    one a setting so a site that behaves otherwise is configured, not patched.
    """

    reset_date: Literal["snapshot", "omit"] = Field(
        "snapshot",
        description="[I] 'snapshot': send allocation.reset_date = when the master's read began, so SFCC's "
        "turnover counts only orders placed after it; 'omit': send none and let SFCC reset at the write",
    )
    omnichannel_inventory: bool = Field(
        False,
        description="[V] Omnichannel Inventory is enabled: B2C inventory records are read-only, so no stock "
        "writes are made (OCI's own availability API is not covered)",
    )
    push_batch_size: int = Field(
        50, ge=1, le=500, description="records per stock push: OCAPI Data writes one record a call [V]"
    )


# Canonical product field -> the SFCC product attribute that holds it [I]: only name and upc are system
# attributes of the OCAPI Product document; the rest are custom (c_) attributes a site defines.
DEFAULT_PRODUCT_ATTRIBUTES = {
    "name": "name",
    "barcode": "upc",
    "weight_kg": "c_weightKg",
    "length_cm": "c_lengthCm",
    "width_cm": "c_widthCm",
    "height_cm": "c_heightCm",
    "commodity_code": "c_hsCode",
    "country_of_origin": "c_countryOfOrigin",
    "customs_description": "c_customsDescription",
}


class SfccProducts(_Settings):
    """Products Cin7 Core masters, written to the site's catalogue (OCAPI Data products [I]: the card lists
    no product path, so the path is named here, and a 404/405 on it is one endpoint exception)."""

    endpoint: str | None = Field(
        None,
        description="OCAPI Data path of one product with {product_id}, e.g. products/{product_id} [I]; unset: "
        "SFCC takes no products",
    )
    attributes: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PRODUCT_ATTRIBUTES),
        description="canonical product field -> SFCC attribute; a field left out is never written",
    )
    localized: tuple[str, ...] = Field(("name",), description="attributes written as {'default': value} [I]")
    create_offline: bool = Field(
        True,
        description="a product Cin7 has and SFCC lacks is created with online_flag false: merchandising "
        "completes and publishes it; it sells only once the stock flow gives it an allocation",
    )

    @field_validator("attributes")
    @classmethod
    def _known(cls, value: dict[str, str]) -> dict[str, str]:
        from shared.models.product import PRODUCT_FIELDS

        unknown = sorted(set(value) - set(PRODUCT_FIELDS))
        if unknown:
            raise ValueError(f"unknown product fields {unknown}; known: {', '.join(PRODUCT_FIELDS)}")
        bad = sorted(a for a in value.values() if a not in _SYSTEM_ATTRIBUTES and not a.startswith("c_"))
        if bad:
            raise ValueError(f"SFCC attributes {bad} are neither system attributes nor custom (c_) ones")
        return value


_SYSTEM_ATTRIBUTES = frozenset({"name", "upc", "ean", "manufacturer_sku", "manufacturer_name", "brand"})


class SfccBudget(_Settings):
    """Calls per minute for this API client, and how long load shedding makes the caller wait.

    The card found no published rate for the Orders or Inventory families [I]; 429 and 503 are honoured
    either way. WARN means 80 % load and THROTTLE 90 % (card §2): slow down before the 503s start.
    """

    calls_per_minute: int = Field(300, ge=1)
    warn_backoff_seconds: float = Field(1.0, ge=0)
    throttle_backoff_seconds: float = Field(10.0, ge=0)


class SfccSettings(PlatformSettings):
    """One SFCC site as a platform instance under `platforms:` (type sfcc)."""

    type: Literal["sfcc"] = "sfcc"
    credentials_secret: SecretName = Field(description="JSON {client_id, client_secret} of the Account Manager client")
    short_code: str = Field(pattern=r"^[a-z0-9]{8}$", description="the realm's eight-character routing code")
    organization_id: str = Field(description="f_ecom_{realm}_{instance}, e.g. f_ecom_zzxy_prd")
    site_id: str = Field(min_length=1, max_length=32)
    instance_host: str = Field(min_length=1, description="the B2C instance host OCAPI Data is served from")
    auth_url: str = "https://account.demandware.com/dwsso/oauth2/access_token"
    scapi_base_url: str | None = Field(
        None, description="default https://{short_code}.api.commercecloud.salesforce.com/"
    )
    ocapi_base_url: str | None = Field(None, description="default https://{instance_host}/")
    ocapi_version: str = Field("v23_2", pattern=r"^v\d+_\d+$")
    scopes: tuple[str, ...] = ("sfcc.orders.rw",)
    release: SfccReleaseFilter = SfccReleaseFilter()
    page_size: int = Field(MAX_ORDERS_LIMIT, ge=1, le=MAX_ORDERS_LIMIT)
    tracking: SfccTrackingAttributes = SfccTrackingAttributes()
    inventory_list_id: str = Field(min_length=1)
    inventory: SfccInventory = SfccInventory()
    products: SfccProducts = SfccProducts()
    price_books: tuple[SfccPriceBook, ...] = ()
    price_book_endpoint: str | None = Field(
        None,
        description="OCAPI Data path for one price, with {price_book_id} and {product_id}; the card has none [I]. "
        "Unset: prices are not written.",
    )
    budget: SfccBudget = SfccBudget()
    retry: RetryConfig = RetryConfig()
    token_refresh_margin_seconds: float = Field(60.0, ge=0, description="renew this long before the token expires")

    @field_validator("organization_id")
    @classmethod
    def _organization(cls, value: str) -> str:
        if not _ORGANIZATION.match(value):
            raise ValueError("must look like f_ecom_zzxy_prd (prefix, 4-letter realm, instance)")
        return value

    @model_validator(mode="after")
    def _unique_price_books(self) -> SfccSettings:
        keys = [(book.tier, book.currency) for book in self.price_books]
        if len(keys) != len(set(keys)):
            raise ValueError("price_books: one price book per (tier, currency)")
        return self

    def accepts_stock_writes(self) -> bool:
        return not self.inventory.omnichannel_inventory

    @property
    def tenant(self) -> str:
        """zzxy_prd for f_ecom_zzxy_prd: the token scope names the tenant (card §1)."""
        return self.organization_id.removeprefix("f_ecom_")

    @property
    def scope(self) -> str:
        return " ".join((f"SALESFORCE_COMMERCE_API:{self.tenant}", *self.scopes))

    @property
    def orders_url(self) -> str:
        base = self.scapi_base_url or f"https://{self.short_code}.api.commercecloud.salesforce.com/"
        return base.rstrip("/") + f"/checkout/orders/v1/organizations/{self.organization_id}/orders"

    @property
    def data_url(self) -> str:
        base = self.ocapi_base_url or f"https://{self.instance_host}/"
        return base.rstrip("/") + f"/s/-/dw/data/{self.ocapi_version}/"

    def price_book_id(self, tier: str, currency: str) -> str | None:
        for book in self.price_books:
            if book.tier == tier and book.currency == currency:
                return book.price_book_id
        return None
