"""Canonical shipment (one despatch) as the warehouse reports it. How far a fulfilment has gone is
`shared.models.fulfilment.FulfilmentStage`; a platform's own fulfilment records stay in its connector."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.models.base import Model


class ShipmentLine(Model):
    sku: str
    quantity: Decimal


class Shipment(Model):
    """One despatch leaving the warehouse: an order, or one part of a split order, in one or more parcels.
    An order may ship in several despatches; a line may span them."""

    warehouse: str = Field(description="platform type that shipped it")
    parcel_id: str = Field(description="the warehouse's stable id for this despatch: our idempotency key")
    warehouse_order_id: str
    client_reference: str
    despatched_at: datetime
    carrier: str = ""
    service: str = ""
    tracking_numbers: tuple[str, ...] = ()
    tracking_url: str = ""
    lines: tuple[ShipmentLine, ...] = ()
    updated_at: datetime
