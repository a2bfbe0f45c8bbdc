"""Cin7 Core as a platform instance: how it is reached. What to release, hold or exclude is the pipeline's."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.connectors.settings import PlatformSettings, SecretName
from shared.models.warehouse import CancelRule


class Cin7SalesSettings(BaseModel):
    """The sale header every order posts with, and the service products its charges and rounding use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer: str = Field("Web Customers", min_length=1, description="the customer sales post to")
    customers_by_currency: dict[str, str] = Field(
        default_factory=dict,
        description="currency -> a customer in that currency: a Cin7 sale takes its customer's currency, so an "
        "order in another currency than the default customer's posts to the one named here",
    )
    location: str = Field(min_length=1, description="the stock location name sales are fulfilled from")
    price_tier: str | None = None
    tax_rule: str = Field(min_length=1, description="Cin7 tax rule name put on every line and charge")
    shipping_product: str = Field("Shipping", min_length=1, description="service product carrying shipping")
    rounding_product: str = Field("Rounding", min_length=1, description="service product for the rounding line")
    max_rounding_minor_units: int | None = Field(
        10, ge=0, description="a larger rounding line means the source totals do not add up: quarantine"
    )
    authorise: bool = Field(True, description="post the order stage AUTHORISED (allocates stock)")

    @field_validator("customers_by_currency")
    @classmethod
    def _currencies(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [code for code in value if not re.fullmatch(r"[A-Z]{3}", code)]
        if bad:
            raise ValueError(f"currencies must be ISO 4217 codes, got {bad}")
        return value

    def customer_for(self, currency: str) -> str:
        return self.customers_by_currency.get(currency, self.customer)


# A Cin7 Core id (SaleID, TaskID, ProductID) is a GUID; webhooks send it in upper case, the API in lower.
ID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"


class Cin7CoreSettings(PlatformSettings):
    type: Literal["cin7_core"] = "cin7_core"
    base_url: str = "https://inventory.dearsystems.com/ExternalApi/v2/"
    credentials_secret: SecretName = Field(description="JSON {account_id, application_key}")
    webhook_secret: SecretName | None = Field(
        None, description="JSON {secret}: the shared secret Cin7 sends in the webhook header"
    )
    webhook_header: str = "X-Hopline-Webhook-Secret"
    page_limit: int = Field(100, ge=1, le=1000, description="Cin7 page size, 1-1000")
    availability_page_limit: int = Field(
        1000, ge=1, le=1000, description="page size of stock availability reads: the card's largest, 1,000 rows a call"
    )
    calls_per_minute: int = Field(60, ge=1, le=60, description="Cin7: 60 calls/min per application")
    sales: Cin7SalesSettings | None = Field(
        None, description="how a sale is created when Cin7 Core is the order target (a storefront's orders)"
    )
    cancel_rules: dict[int, CancelRule] = Field(
        default_factory=dict,
        description="per Cin7 stage code (101 order .. 106 voided, see statuses.py): cancel, "
        "raise_with_warehouse or refuse_and_return; the default voids only before pick is authorised",
    )
