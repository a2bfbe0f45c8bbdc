"""Scend as a platform instance: how it is reached, its stock-write capability and its cancel table."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.connectors.settings import PlatformSettings, SecretName
from shared.models.returns import ReturnDisposition
from shared.models.warehouse import CancelRule

# What the warehouse did with returned units (a return item's Action) -> back in stock or not [I]: the card
# names the field, not its values. Confirm Scend's list and set `return_actions` per client.
DEFAULT_RETURN_ACTIONS: dict[str, ReturnDisposition] = {
    "Restock": ReturnDisposition.BACK_IN_STOCK,
    "Return to stock": ReturnDisposition.BACK_IN_STOCK,
    "Quarantine": ReturnDisposition.UNUSABLE,
    "Damaged": ReturnDisposition.UNUSABLE,
    "Dispose": ReturnDisposition.UNUSABLE,
    "Write off": ReturnDisposition.UNUSABLE,
}


class ScendSettings(PlatformSettings):
    type: Literal["scend"] = "scend"
    base_url: str = "https://api.scend.example/api/"
    credentials_secret: SecretName = Field(description="JSON {api_key}")
    client_id: int = Field(0, ge=0, description="warehouse-side client id for master keys; 0 = key's own")
    warehouse_id: int | None = Field(None, ge=0)
    channel: str = "API"
    # Scend publishes no limit; Cloudflare throttles per source IP [I]. A conservative default, per client.
    calls_per_minute: int = Field(120, ge=1, le=6000)
    # The card lists no stock write (question 5 to Scend). Name the endpoint Scend gives, under /api/;
    # leave it out when the warehouse accepts no stock writes: the stock flow then reports drift only.
    stock_write_endpoint: str | None = Field(
        None,
        pattern=r"^[A-Za-z][A-Za-z0-9_/-]{0,199}$",
        description="INFERRED stock write endpoint (POST, path under /api/), e.g. Product/ChannelStockLevels; "
        "unset = the warehouse does not accept stock writes",
    )
    # The stock master's changed-since feed: card 3.6 [V] names the path and FromDate; paging, Breakdown and
    # the row shape on it are INFERRED (as Product/StockLevels). None: every schedule reads every row.
    stock_feed_endpoint: str | None = Field(
        "Product/StockLevels/UpdatedSince",
        pattern=r"^[A-Za-z][A-Za-z0-9_/-]{0,199}$",
        description="GET path under /api/ listing stock rows updated since FromDate; unset = full reads only",
    )
    # Breakdown Types held back from sale. Card 3.6 [C] names Quarantine; Damaged is INFERRED.
    quarantine_types: list[str] = Field(default_factory=lambda: ["Quarantine"], min_length=1)
    damaged_types: list[str] = Field(default_factory=lambda: ["Damaged"])
    cancel_rules: dict[int, CancelRule] = Field(
        default_factory=dict,
        description="per warehouse status id: cancel | raise_with_warehouse | refuse_and_return; "
        "overrides the card's table (shared/connectors/scend/statuses.py)",
    )

    return_actions: dict[str, ReturnDisposition] = Field(
        default_factory=lambda: dict(DEFAULT_RETURN_ACTIONS),
        description="return item Action -> back_in_stock | unusable [I]; an Action not named is quarantined",
    )

    def accepts_stock_writes(self) -> bool:
        return self.stock_write_endpoint is not None

    @field_validator("cancel_rules")
    @classmethod
    def _known_statuses(cls, value: dict[int, CancelRule]) -> dict[int, CancelRule]:
        from shared.connectors.scend.statuses import cancel_rules

        cancel_rules(value)  # refuses an id Scend does not have
        return value
