"""Rebuilding a message from an archived Cin7 payload with the code running now: a sale or stock webhook, or a
product row the catalogue feed could not map. `hopline replay` finds these through the connector's spec."""

from __future__ import annotations

import json
from datetime import datetime

# Through the modules, so the parser and mapping running now are the ones used.
from shared.connectors.cin7_core import mapping, webhooks
from shared.models.base import Model
from shared.models.messages import CancelRequest, IntakeMessage, ProductMessage
from shared.models.stock import StockSyncMessage

SOURCE = "cin7_core"


class NothingToReplayError(ValueError):
    """The archived payload parses but asks for nothing."""


def sale_webhook(client: str, payload: bytes, now: datetime, archive_key: str | None) -> tuple[str, Model]:
    """What the sale channel sends for this body: a cancel request for a void, else an intake."""
    event = webhooks.parse_sale_event(payload)
    if event.is_void:
        return "cancel-requests", CancelRequest(
            client=client,
            source=SOURCE,
            source_id=event.sale_id,
            order_number=event.order_number,
            requested_at=now,
            reason="voided at Cin7 Core",
            trigger="replay",
            event_type=event.event_type,
        )
    return "order-intake", IntakeMessage(
        client=client,
        source=SOURCE,
        source_id=event.sale_id,
        order_number=event.order_number,
        trigger="replay",
        event_type=event.event_type,
        archive_key=archive_key,
    )


def stock_webhook(client: str, payload: bytes, now: datetime, archive_key: str | None) -> tuple[str, Model]:
    """The SKUs the stock webhook names, for the pusher to re-read from the master."""
    skus = sorted(set(webhooks.parse_stock_event(payload)))
    if not skus:
        raise NothingToReplayError("the archived stock webhook names no SKU: nothing to replay")
    return "stock-sync", StockSyncMessage(client=client, trigger="replay", skus=skus, read_at=now)


def product_row(client: str, payload: bytes, now: datetime, archive_key: str | None) -> tuple[str, Model]:
    """The product message the catalogue poll would have sent for this Cin7 product row."""
    try:
        row = json.loads(payload)["row"]
    except (ValueError, KeyError, TypeError):
        raise NothingToReplayError('the archived payload is not a product row ({"row", "error"})') from None
    return "product-sync", ProductMessage(client=client, trigger="replay", product=mapping.to_product(row))


REBUILDERS = {"cin7_sale_webhook": sale_webhook, "cin7_stock_webhook": stock_webhook, "cin7_product_row": product_row}
