"""Queue message contracts between hops. Versioned by shape: add optional fields, never repurpose.

One module per kind of message (orders, shipments, returns, products, cancellation), each re-exported here:
`from shared.models.messages import X`. The names load on first use, so a hop's cold start builds the models
of the messages it carries and not every queue's (nor the product, shipment and return models they hold).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from shared.models.base import Model
    from shared.models.messages.cancellation import (
        CancelLookup,
        CancelRecord,
        CancelRequest,
        CancelState,
        CancelTrigger,
        WarehouseCancel,
        WarehouseCheck,
    )
    from shared.models.messages.orders import IntakeMessage, SubmitMessage
    from shared.models.messages.products import ProductMessage
    from shared.models.messages.returns import ReturnMessage
    from shared.models.messages.shipments import ShipmentMessage

    MESSAGE_BY_QUEUE: dict[str, type[Model]]

Trigger = Literal["webhook", "subscription", "poll", "replay", "sku_live"]

# Where each public name lives.
_HOME = {
    "CancelLookup": "cancellation",
    "CancelRecord": "cancellation",
    "CancelRequest": "cancellation",
    "CancelState": "cancellation",
    "CancelTrigger": "cancellation",
    "WarehouseCancel": "cancellation",
    "WarehouseCheck": "cancellation",
    "IntakeMessage": "orders",
    "SubmitMessage": "orders",
    "ProductMessage": "products",
    "ReturnMessage": "returns",
    "ShipmentMessage": "shipments",
}

__all__ = [
    "MESSAGE_BY_QUEUE",
    "CancelLookup",
    "CancelRecord",
    "CancelRequest",
    "CancelState",
    "CancelTrigger",
    "IntakeMessage",
    "ProductMessage",
    "ReturnMessage",
    "ShipmentMessage",
    "SubmitMessage",
    "Trigger",
    "WarehouseCancel",
    "WarehouseCheck",
]


def _message_by_queue() -> dict[str, type[Model]]:
    """The message each queue carries: what `hopline replay` validates an (edited) message against."""
    from shared.models.messages.cancellation import CancelRequest
    from shared.models.messages.orders import IntakeMessage, SubmitMessage
    from shared.models.messages.products import ProductMessage
    from shared.models.messages.returns import ReturnMessage
    from shared.models.messages.shipments import ShipmentMessage
    from shared.models.stock import StockSyncMessage

    return {
        "order-intake": IntakeMessage,
        "order-submit": SubmitMessage,
        "shipment-writeback": ShipmentMessage,
        "product-sync": ProductMessage,
        "stock-sync": StockSyncMessage,
        "cancel-requests": CancelRequest,
        "return-writeback": ReturnMessage,
    }


def __getattr__(name: str) -> Any:
    if name == "MESSAGE_BY_QUEUE":
        value: Any = _message_by_queue()
    elif name in _HOME:
        value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
