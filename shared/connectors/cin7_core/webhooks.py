"""Cin7 Core webhooks: shared-secret check and thin sale-event parsing.

Cin7 signs nothing; the only proof of origin is the custom header (or basic/bearer credentials)
configured on the hook. Payloads are thin and not uniform, so we keep the sale id and re-read the sale.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from shared.errors import PermanentError
from shared.models import Model, ReasonCode


def verify_shared_secret(headers: Mapping[str, str], header_name: str, expected: str) -> bool:
    """True when the configured header carries the expected secret; header names match case-insensitively."""
    if not expected or not header_name:
        return False
    wanted = header_name.lower()
    received = next((value for name, value in headers.items() if name.lower() == wanted), None)
    if not received:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


class SaleEvent(Model):
    """A sale webhook reduced to what intake needs: which sale, and what happened to it."""

    sale_id: str
    event_type: str = ""
    order_number: str = ""

    @property
    def is_void(self) -> bool:
        """Sale/Voided: the sale was cancelled at the source, so it goes to cancellation, not intake."""
        from shared.connectors.cin7_core.mapping import VOID_EVENT

        return self.event_type.casefold() == VOID_EVENT.casefold()


def _invalid(detail: str) -> PermanentError:
    return PermanentError(ReasonCode.PAYLOAD_INVALID, f"Cin7 webhook: {detail}")


def _text(payload: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def parse_sale_event(body: bytes | str) -> SaleEvent:
    """Parse a {"SaleID", "SaleOrderNumber", "EventType"} payload; extra keys are ignored."""
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise _invalid(f"body is not UTF-8 ({exc.reason})") from None
    if not text.strip():
        raise _invalid("body is empty")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise _invalid(f"body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        # Stock/AvailableStockLevelChanged posts a bare array of availability rows.
        kind = "an array" if isinstance(payload, list) else type(payload).__name__
        raise _invalid(f"expected a JSON object with SaleID, got {kind}")
    sale_id = payload.get("SaleID")
    if sale_id is None:
        hint = " (payload has SaleTaskID: a task event, not a sale event)" if "SaleTaskID" in payload else ""
        raise _invalid(f"field 'SaleID' is missing{hint}")
    if not isinstance(sale_id, str) or not sale_id.strip():
        raise _invalid(f"field 'SaleID' must be a non-blank string, got {sale_id!r}")
    return SaleEvent(
        # Webhooks send GUIDs in upper case, the API in lower case; keep the API's form.
        sale_id=sale_id.strip().lower(),
        event_type=_text(payload, "EventType"),
        order_number=_text(payload, "SaleOrderNumber", "OrderNumber"),
    )


def parse_stock_event(body: bytes | str) -> list[str]:
    """Stock/AvailableStockLevelChanged: a bare array of availability rows; only the SKUs are kept.

    The rows' figures are not trusted (they may be stale by the time the event arrives, and events can
    arrive out of order): the pusher re-reads these SKUs from the API.
    """
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.lstrip("\ufeff")
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid(f"stock event body is not JSON ({exc})") from None
    if isinstance(payload, dict):  # some accounts wrap the rows; accept the documented key if present
        payload = payload.get("ProductAvailabilityList", payload.get("Rows"))
    if not isinstance(payload, list):
        raise _invalid("stock event: expected a JSON array of availability rows")
    skus = []
    for index, row in enumerate(payload):
        sku = row.get("SKU") if isinstance(row, dict) else None
        if not isinstance(sku, str) or not sku.strip():
            raise _invalid(f"stock event row {index}: field 'SKU' is missing or blank")
        skus.append(sku)
    return sorted(set(skus))
