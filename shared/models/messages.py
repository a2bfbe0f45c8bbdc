"""Queue message contracts between hops. Versioned by shape: add optional fields, never repurpose."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.models.order import Model, Order
from shared.models.product import Product
from shared.models.shipment import Shipment

Trigger = Literal["webhook", "poll", "replay", "sku_live"]


class IntakeMessage(Model):
    """A reference to a source order that something says has changed; intake reads the rest."""

    client: str
    source: str
    source_id: str = Field(min_length=1)
    order_number: str = ""
    trigger: Trigger
    event_type: str = ""
    archive_key: str | None = None
    source_updated_at: datetime | None = Field(
        None, description="the version a poll saw; intake skips a re-read when it decided on this version"
    )

    @property
    def order_key(self) -> str:
        return f"{self.source}#{self.source_id}"


class SubmitMessage(Model):
    """A validated order on its way to the warehouse; idempotency is keyed on (client, source, source_id)."""

    client: str
    source: str
    source_id: str
    client_reference: str
    courier_service: str
    order: Order

    @property
    def order_key(self) -> str:
        return f"{self.source}#{self.source_id}"


class ShipmentMessage(Model):
    """One parcel to write back to the order's source; idempotent per (client, warehouse, parcel id)."""

    client: str
    trigger: Trigger
    shipment: Shipment

    @property
    def business_key(self) -> str:
        return f"{self.shipment.warehouse}#parcel#{self.shipment.parcel_id}"


class ProductMessage(Model):
    """A product to fan out to the warehouse; idempotent per (client, SKU, version)."""

    client: str
    trigger: Trigger
    product: Product


# The message each queue carries: what `hopline replay` validates an (edited) message against.
MESSAGE_BY_QUEUE: dict[str, type[Model]] = {
    "order-intake": IntakeMessage,
    "order-submit": SubmitMessage,
    "shipment-writeback": ShipmentMessage,
    "product-sync": ProductMessage,
}
