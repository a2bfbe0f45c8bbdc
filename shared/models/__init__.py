"""Canonical models shared by every flow and connector."""

from shared.models.fulfilment import FulfilmentStage, WarehouseStatus, stage_of_status
from shared.models.order import Address, Model, Order, OrderLine, WarehouseOrderRef
from shared.models.reasons import OWNER, ReasonCode, Team, owner_of
from shared.models.warehouse import CancelRule, WarehouseStatusRead

__all__ = [
    "OWNER",
    "Address",
    "CancelRule",
    "FulfilmentStage",
    "Model",
    "Order",
    "OrderLine",
    "ReasonCode",
    "Team",
    "WarehouseOrderRef",
    "WarehouseStatus",
    "WarehouseStatusRead",
    "owner_of",
    "stage_of_status",
]
