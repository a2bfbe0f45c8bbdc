"""Canonical models shared by every flow and connector."""

from shared.models.order import Address, Model, Order, OrderLine, WarehouseOrderRef
from shared.models.reasons import OWNER, ReasonCode, Team, owner_of
from shared.models.warehouse import CancelRule, WarehouseStatusRead

__all__ = [
    "OWNER",
    "Address",
    "CancelRule",
    "Model",
    "Order",
    "OrderLine",
    "ReasonCode",
    "Team",
    "WarehouseOrderRef",
    "WarehouseStatusRead",
    "owner_of",
]
