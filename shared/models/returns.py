"""Canonical return: goods a customer sent back, as the warehouse booked them in, line by line with what
became of each unit (back on the shelf, or not sellable)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.models.base import Model


class ReturnDisposition(StrEnum):
    """What the warehouse did with returned units: the storefront's return shipment state follows it."""

    BACK_IN_STOCK = "back_in_stock"
    UNUSABLE = "unusable"


class ReturnedLine(Model):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    disposition: ReturnDisposition


class ReturnNotice(Model):
    """One return the warehouse booked in against one of our orders."""

    warehouse: str = Field(description="platform type that booked it in")
    return_id: str = Field(min_length=1, description="the warehouse's id for this return: our idempotency key")
    warehouse_order_id: str
    client_reference: str = Field(min_length=1, description="our reference of the order the goods came back from")
    lines: tuple[ReturnedLine, ...] = Field(min_length=1)
    tracking_id: str = ""
    returned_on: datetime
