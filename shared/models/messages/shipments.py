"""The shipment message: one parcel to write back to its order's source."""

from __future__ import annotations

from shared.models.base import Model
from shared.models.messages import Trigger
from shared.models.shipment import Shipment


class ShipmentMessage(Model):
    """One parcel to write back to the order's source; idempotent per (client, warehouse, parcel id)."""

    client: str
    trigger: Trigger
    shipment: Shipment
    # The ledger's order for the parcel's client reference, when the poll already looked it up (a reference
    # names one order for good, so the write-back need not look it up again); None: look it up.
    order_key: str | None = None

    @property
    def business_key(self) -> str:
        return f"{self.shipment.warehouse}#parcel#{self.shipment.parcel_id}"
