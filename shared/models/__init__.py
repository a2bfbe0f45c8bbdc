"""Canonical models shared by every flow and connector."""

from shared.models.order import Address, Model, Order, OrderLine, WarehouseOrderRef
from shared.models.reasons import OWNER, ReasonCode, Team, owner_of

__all__ = [
    "OWNER",
    "Address",
    "Model",
    "Order",
    "OrderLine",
    "ReasonCode",
    "Team",
    "WarehouseOrderRef",
    "owner_of",
]
