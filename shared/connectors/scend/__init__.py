"""Scend 3PL connector (shape inferred from Mintsoft, confirm with Scend).

The names below load on first use: the connector registry imports this package's spec at every hop's cold
start, and a hop that never calls Scend must not pay for its client and mapping.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shared.models.fulfilment import WarehouseStatus  # the canonical vocabulary, where Scend code found it

if TYPE_CHECKING:
    from shared.connectors.scend.client import RULES, ScendClient
    from shared.connectors.scend.mapping import STATUS_BY_ID, neutral_status, to_order_request

_HOME = {
    "RULES": "client",
    "ScendClient": "client",
    "STATUS_BY_ID": "mapping",
    "neutral_status": "mapping",
    "to_order_request": "mapping",
}

__all__ = ["RULES", "STATUS_BY_ID", "ScendClient", "WarehouseStatus", "neutral_status", "to_order_request"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
