"""Canonical fulfilment vocabulary: a warehouse's live order status (neutral), and the stage an order's
fulfilment has reached on any platform.

Connectors map their own structures to these (Scend's OrderStatusId table, Cin7 Core's pick, pack and
ship statuses on a fulfilment task); flows and steps decide on these alone, never on a platform's codes.
"""

from __future__ import annotations

from enum import StrEnum


class WarehouseStatus(StrEnum):
    """Neutral order status a warehouse reports (WarehouseOrderRef.status, WarehouseStatusRead.status)."""

    NEW = "new"
    AWAITING_PICKING = "awaiting_picking"
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    DESPATCHED = "despatched"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"
    BACKORDER = "backorder"
    UNKNOWN = "unknown"


class FulfilmentStage(StrEnum):
    """How far an order's fulfilment has gone, in order: ordered, picking, picked, packed, then part or
    wholly despatched. Cancelled and unknown stand outside the sequence."""

    ORDERED = "ordered"  # accepted, nothing picked yet (new, held, awaiting stock or picking)
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    PART_DESPATCHED = "part_despatched"  # some of it has left
    DESPATCHED = "despatched"  # all of it has left
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    def reached(self, stage: FulfilmentStage) -> bool:
        """True when this stage is `stage` or lies past it in the sequence."""
        if self == stage:
            return True
        if stage not in _SEQUENCE or self not in _SEQUENCE:
            return False
        return _SEQUENCE.index(self) >= _SEQUENCE.index(stage)


_SEQUENCE = (
    FulfilmentStage.ORDERED,
    FulfilmentStage.PICKING,
    FulfilmentStage.PICKED,
    FulfilmentStage.PACKED,
    FulfilmentStage.PART_DESPATCHED,
    FulfilmentStage.DESPATCHED,
)

_STAGE_OF_STATUS: dict[str, FulfilmentStage] = {
    WarehouseStatus.NEW: FulfilmentStage.ORDERED,
    WarehouseStatus.AWAITING_PICKING: FulfilmentStage.ORDERED,
    WarehouseStatus.ON_HOLD: FulfilmentStage.ORDERED,
    WarehouseStatus.BACKORDER: FulfilmentStage.ORDERED,
    WarehouseStatus.PICKING: FulfilmentStage.PICKING,
    WarehouseStatus.PICKED: FulfilmentStage.PICKED,
    WarehouseStatus.PACKED: FulfilmentStage.PACKED,
    WarehouseStatus.DESPATCHED: FulfilmentStage.DESPATCHED,
    WarehouseStatus.CANCELLED: FulfilmentStage.CANCELLED,
}


def stage_of_status(status: str) -> FulfilmentStage:
    """The stage a neutral warehouse status stands for; UNKNOWN for a status outside the vocabulary."""
    return _STAGE_OF_STATUS.get(status, FulfilmentStage.UNKNOWN)
