"""Canonical shipment (one parcel) as the warehouse reports it, and the source's fulfilment state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from shared.models.order import Model


class ShipmentLine(Model):
    sku: str
    quantity: Decimal


class Shipment(Model):
    """One despatch leaving the warehouse: an order, or one part of a split order, in one or more parcels.
    An order may ship in several despatches; a line may span them."""

    warehouse: str = Field(description="platform that shipped it, e.g. scend")
    parcel_id: str = Field(
        description="the warehouse's id for this despatch (Scend: the despatched order's ID): our idempotency key"
    )
    warehouse_order_id: str
    client_reference: str
    despatched_at: datetime
    carrier: str = ""
    service: str = ""
    tracking_numbers: tuple[str, ...] = ()
    tracking_url: str = ""
    lines: tuple[ShipmentLine, ...] = ()
    updated_at: datetime


class FulfilmentTask(Model):
    """One fulfilment at the source (Cin7 Core: a TaskID with pick, pack and ship stages)."""

    task_id: str
    pick_status: str = ""
    pack_status: str = ""
    ship_status: str = ""
    boxes: tuple[str, ...] = Field((), description="box / parcel labels on the task's pack or ship lines")
    picked: tuple[ShipmentLine, ...] = ()
    shipped: tuple[ShipmentLine, ...] = ()
