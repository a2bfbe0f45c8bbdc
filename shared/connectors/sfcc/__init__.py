"""Salesforce B2C Commerce (SFCC): SCAPI Orders for the release poll and write-backs, OCAPI Data for stock.

The names below load on first use: the connector registry imports this package's spec when a client's config
names SFCC, and a hop that never calls it must not pay for its client and mapping at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.connectors.sfcc.client import PolledOrder, SfccClient
    from shared.connectors.sfcc.settings import SfccSettings

_HOME = {"PolledOrder": "client", "SfccClient": "client", "SfccSettings": "settings"}

__all__ = ["PolledOrder", "SfccClient", "SfccSettings"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
