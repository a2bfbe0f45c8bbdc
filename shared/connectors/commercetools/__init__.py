"""commercetools connector: orders out, deliveries and returns back, inventory per supply channel.

The names below load on first use: the connector registry imports this package's spec when a client's config
names commercetools, and a hop that never calls it must not pay for its client and mapping at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.connectors.commercetools.client import RULES, CommercetoolsClient, StockDecision
    from shared.connectors.commercetools.messages import MemoryLedger, Message, Verdict, parse_message, verdict
    from shared.connectors.commercetools.settings import (
        CommercetoolsCredentials,
        CommercetoolsSettings,
        ReleaseTrigger,
    )

_HOME = {
    "RULES": "client",
    "CommercetoolsClient": "client",
    "StockDecision": "client",
    "MemoryLedger": "messages",
    "Message": "messages",
    "Verdict": "messages",
    "parse_message": "messages",
    "verdict": "messages",
    "CommercetoolsCredentials": "settings",
    "CommercetoolsSettings": "settings",
    "ReleaseTrigger": "settings",
}

__all__ = [
    "RULES",
    "CommercetoolsClient",
    "CommercetoolsCredentials",
    "CommercetoolsSettings",
    "MemoryLedger",
    "Message",
    "ReleaseTrigger",
    "StockDecision",
    "Verdict",
    "parse_message",
    "verdict",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
