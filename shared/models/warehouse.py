"""Canonical warehouse vocabulary: a live status as the warehouse states it, and what a cancel may do then."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.models.base import Model


class CancelRule(StrEnum):
    """What a cancel request does at one warehouse status (the warehouse's own code, not the neutral status)."""

    CANCEL = "cancel"  # ask the warehouse to cancel: it accepts at this status
    RAISE_WITH_WAREHOUSE = "raise_with_warehouse"  # too late for the API: a person asks the 3PL, expect a return
    REFUSE_AND_RETURN = "refuse_and_return"  # it has left the warehouse: refused, and a return is started


class WarehouseStatusRead(Model):
    """A live order status: the warehouse's own code and name, with the neutral status it maps to."""

    status: str = Field(description="neutral status (new, picking, despatched, ...)")
    code: str = Field(description="the warehouse's own status code, e.g. Scend's OrderStatusId '16'")
    name: str = ""
