"""Cin7 Core (ex DEAR Inventory) API v2 connector: client, wire mapping and webhooks."""

from shared.connectors.cin7_core.client import RULES, Cin7CoreClient
from shared.connectors.cin7_core.mapping import country_code, to_change, to_order
from shared.connectors.cin7_core.webhooks import SaleEvent, parse_sale_event, verify_shared_secret

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
