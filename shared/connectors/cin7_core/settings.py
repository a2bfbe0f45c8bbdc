"""Cin7 Core as a platform instance: how it is reached. What to release, hold or exclude is the pipeline's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.connectors.settings import PlatformSettings, SecretName

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
