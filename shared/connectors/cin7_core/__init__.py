"""Cin7 Core (ex DEAR Inventory) API v2 connector: client, wire mapping and webhooks.

The names below load on first use: the connector registry imports this package's spec at every hop's cold
start, and a hop that never calls Cin7 Core must not pay for its client and mapping.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.connectors.cin7_core.client import RULES, Cin7CoreClient
    from shared.connectors.cin7_core.mapping import country_code, to_change, to_order
    from shared.connectors.cin7_core.webhooks import SaleEvent, parse_sale_event, verify_shared_secret

_HOME = {
    "RULES": "client",
    "Cin7CoreClient": "client",
    "country_code": "mapping",
    "to_change": "mapping",
    "to_order": "mapping",
    "SaleEvent": "webhooks",
    "parse_sale_event": "webhooks",
    "verify_shared_secret": "webhooks",
}

__all__ = [
    "RULES",
    "Cin7CoreClient",
    "SaleEvent",
    "country_code",
    "parse_sale_event",
    "to_change",
    "to_order",
    "verify_shared_secret",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
