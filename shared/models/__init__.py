"""Canonical models shared by every flow and connector.

Each name is re-exported here (`from shared.models import X`) and loads on first use, so a hop reading a
reason code does not build the order models: a hop that carries no order never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.models.base import Model
    from shared.models.fulfilment import FulfilmentStage, WarehouseStatus, stage_of_status
    from shared.models.order import Address, Order, OrderLine, WarehouseOrderRef
    from shared.models.reasons import OWNER, ReasonCode, Team, owner_of
    from shared.models.warehouse import CancelRule, WarehouseStatusRead

# Where each public name lives.
_HOME = {
    "OWNER": "reasons",
    "Address": "order",
    "CancelRule": "warehouse",
    "FulfilmentStage": "fulfilment",
    "Model": "base",
    "Order": "order",
    "OrderLine": "order",
    "ReasonCode": "reasons",
    "Team": "reasons",
    "WarehouseOrderRef": "order",
    "WarehouseStatus": "fulfilment",
    "WarehouseStatusRead": "warehouse",
    "owner_of": "reasons",
    "stage_of_status": "fulfilment",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
