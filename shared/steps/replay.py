"""Rebuilding a quarantined record's message from its archived payload, with the code running now.

The inbox stores no message that carries personal data or did not parse; it stores where the payload is
archived and how to turn it back into a message (`PayloadReplay`). Rebuilding with current code is the
point: a parser or model fixed since the quarantine now accepts what it refused.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.errors import PermanentError
from shared.models.messages import CancelRequest, IntakeMessage, ProductMessage
from shared.models.order import Model
from shared.models.stock import StockSyncMessage
from shared.stores.exceptions import ExceptionRecord, PayloadReplay

CIN7_SOURCE = "cin7_core"  # the platform whose webhooks the receivers take


class ReplayRebuildError(ValueError):
    """The archived payload still does not make a message; the text says why (field paths, no values)."""


def rebuild(record: ExceptionRecord, payload: bytes, *, now: datetime) -> tuple[str, dict[str, Any]]:
    """(queue, message body) rebuilt from the archived payload as `record.replay_payload` says."""
    kind = record.replay_payload
    if kind == PayloadReplay.MESSAGE:
        if record.replay_queue is None:
            raise ReplayRebuildError("the exception names no queue for its archived message")
        try:
            body = json.loads(payload)
        except json.JSONDecodeError as error:
            raise ReplayRebuildError(f"the archived message is not JSON ({error.msg} at character {error.pos})") \
                from None
        except UnicodeDecodeError:
            raise ReplayRebuildError("the archived message is not UTF-8 text") from None
        if not isinstance(body, dict):
            raise ReplayRebuildError(f"the archived message is a JSON {type(body).__name__}, not an object")
        return record.replay_queue, body
    try:
        if kind == PayloadReplay.CIN7_SALE_WEBHOOK:
            return _sale_webhook(record, payload, now)
        if kind == PayloadReplay.CIN7_STOCK_WEBHOOK:
            return _stock_webhook(record, payload, now)
        if kind == PayloadReplay.CIN7_PRODUCT_ROW:
            return _product_row(record, payload)
    except PermanentError as error:
        verb = "map" if kind == PayloadReplay.CIN7_PRODUCT_ROW else "parse"
        raise ReplayRebuildError(f"the archived payload still does not {verb}: {error.detail}") from None
    raise ReplayRebuildError(f"no rebuild is known for {kind}")


def _sale_webhook(record: ExceptionRecord, payload: bytes, now: datetime) -> tuple[str, dict[str, Any]]:
    """What the sale webhook receiver sends for this body: a cancel request for a void, else an intake."""
    from shared.connectors.cin7_core.webhooks import parse_sale_event

    event = parse_sale_event(payload)
    message: Model
    if event.is_void:
        queue, message = "cancel-requests", CancelRequest(
            client=record.client, source=CIN7_SOURCE, source_id=event.sale_id, order_number=event.order_number,
            requested_at=now, reason="voided at Cin7 Core", trigger="replay", event_type=event.event_type)
    else:
        queue, message = "order-intake", IntakeMessage(
            client=record.client, source=CIN7_SOURCE, source_id=event.sale_id, order_number=event.order_number,
            trigger="replay", event_type=event.event_type, archive_key=record.payload_key)
    return queue, message.model_dump(mode="json")


def _stock_webhook(record: ExceptionRecord, payload: bytes, now: datetime) -> tuple[str, dict[str, Any]]:
    """The SKUs the stock webhook names, for the pusher to re-read from the master."""
    from shared.connectors.cin7_core.webhooks import parse_stock_event

    skus = sorted(set(parse_stock_event(payload)))
    if not skus:
        raise ReplayRebuildError("the archived stock webhook names no SKU: nothing to replay")
    message = StockSyncMessage(client=record.client, trigger="replay", skus=skus, read_at=now)
    return "stock-sync", message.model_dump(mode="json")



def _product_row(record: ExceptionRecord, payload: bytes) -> tuple[str, dict[str, Any]]:
    """The product message the catalogue poll would have sent for this Cin7 product row."""
    from shared.connectors.cin7_core.mapping import to_product

    try:
        row = json.loads(payload)["row"]
    except (ValueError, KeyError, TypeError):
        raise ReplayRebuildError("the archived payload is not a product row ({\"row\", \"error\"})") from None
    message = ProductMessage(client=record.client, trigger="replay", product=to_product(row))
    return "product-sync", message.model_dump(mode="json")
