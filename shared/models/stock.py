"""Stock figures as the platforms report them, and what the engine pushes.

Every platform says "available" differently (Cin7 Core: `Available` per location, net of stock
allocated to sales; Scend: `Level`, net of stock allocated to its orders, with quarantine and damaged
units in a breakdown). A connector maps its rows to StockRow; the pure flow in shared/flows/stock.py
turns rows into available-to-sell. Quantities are Decimal because Cin7 reports up to 4 decimal places.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shared.models.base import Model


class StockRow(Model):
    """One SKU at one location, as the master (or the other side) reports it."""

    sku: str = Field(min_length=1)
    location: str = Field(description="the platform's location name or id, as text")
    available: Decimal = Field(description="the platform's own sellable figure (never On Hand)")
    on_hand: Decimal = Decimal(0)
    allocated: Decimal = Decimal(0)
    reserved: Decimal = Field(Decimal(0), description="held back for other reasons than sales, where reported")
    quarantined: Decimal = Decimal(0)
    damaged: Decimal = Decimal(0)
    updated_at: datetime | None = None
    read_at: datetime | None = Field(None, description="when the read that gave this figure began, where known")


class StockPush(Model):
    """A figure to set at the target: the whole sellable quantity, never a relative adjustment.

    Absolute figures make a push idempotent: sending the same one twice leaves the target unchanged.
    """

    sku: str
    location: str = Field(description="the target's location key (e.g. a Scend WarehouseId)")
    quantity: int = Field(ge=0)
    snapshot_at: datetime | None = Field(
        None,
        description="when the master read this figure began, or the order poll if that began earlier: a target "
        "that counts its own orders since a moment (SFCC's allocation reset_date) counts from here, so none is "
        "deducted twice or not at all (shared/steps/stock.py counts_own_orders_from)",
    )


class RejectedPush(Model):
    """A row the target refused (e.g. a SKU it does not hold): quarantined, never retried blindly."""

    sku: str
    location: str
    message: str


StockTrigger = Literal["schedule", "event", "reconcile", "replay"]


class StockSyncMessage(Model):
    """One unit of work for the pusher: a set of SKUs, with the master's rows when already read.

    The schedule reads everything in pages and ships the rows (no second read); an event only names
    SKUs, which the pusher re-reads (webhook payloads are thin and may be stale).
    """

    client: str
    trigger: StockTrigger
    skus: list[str] = Field(min_length=1)
    rows: list[StockRow] | None = None
    read_at: datetime
    force: bool = Field(False, description="push even when unchanged (drift correction)")
    caps: dict[str, int] = Field(default_factory=dict, description="SKU -> ceiling the warehouse can honour")
