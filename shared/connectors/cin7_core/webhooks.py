"""Cin7 Core webhooks: shared-secret check and thin sale-event parsing.

Cin7 signs nothing; the only proof of origin is the custom header (or basic/bearer credentials)
configured on the hook. Payloads are thin and not uniform, so we keep the sale id and re-read the sale.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from shared.config import BoundsConfig
from shared.errors import PermanentError
from shared.flows.bounds import id_problem, source_id_problem, text_problem
from shared.models import Model, ReasonCode


def verify_shared_secret(
    headers: Mapping[str, Any] | None, header_name: str, expected: str,
    multi_value_headers: Mapping[str, Any] | None = None,
) -> bool:
    """True when the configured header carries the expected secret; header names match case-insensitively.

    Every value the request carries under that name (any case, repeated headers included) must be the
    secret: a request that sends the header twice with different values is not authenticated.
    """
    if not expected or not header_name:
        return False
    wanted = header_name.lower()
    received: list[Any] = []
    for name, value in (headers or {}).items():
        if isinstance(name, str) and name.lower() == wanted:
            received.append(value)
    for name, values in (multi_value_headers or {}).items():
        if isinstance(name, str) and name.lower() == wanted:
            received.extend(values if isinstance(values, list) else [values])
    if not received:
        return False
    secret = expected.encode()
    return all(isinstance(value, str) and value and hmac.compare_digest(
        value.encode("utf-8", "surrogatepass"), secret) for value in received)


def read_body(body: Any, is_base64: bool, bounds: BoundsConfig) -> tuple[bytes, PermanentError | None]:
    """The request body as bytes, and why it cannot be read (too large, bad base64), without raising.

    The bytes come back even when unreadable, cut to `bounds.max_body_bytes`, so they can be archived.
    """
    limit = bounds.max_body_bytes
    if body is None:
        return b"", None
    if not isinstance(body, str):
        return b"", _invalid(f"body is a {type(body).__name__}, not text")
    if is_base64:
        if len(body) > (limit * 4) // 3 + 4:
            return _text_bytes(body)[:limit], _too_large(limit)
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _text_bytes(body)[:limit], _invalid("body is flagged base64 but does not decode")
    else:
        if len(body) > limit:
            return _text_bytes(body[:limit])[:limit], _too_large(limit)
        data = _text_bytes(body)
    if len(data) > limit:
        return data[:limit], _too_large(limit)
    return data, None


def _text_bytes(text: str) -> bytes:
    """Text as received, as bytes; lone surrogates are kept (escaped JSON may carry them) for the archive."""
    return text.encode("utf-8", "surrogatepass")


def _too_large(limit: int) -> PermanentError:
    return PermanentError(ReasonCode.BODY_TOO_LARGE, f"Cin7 webhook: body is over {limit} bytes")


# A scan, not a parse: finds the sale id in a body that may not parse at all, so the payload can be
# archived with its order before parsing. Only an id that passes the id bounds names an archive key.
_SALE_ID_SCAN = re.compile(rb'"SaleID"\s*:\s*"([^"\\]{1,512})"')


def scan_sale_id(body: bytes, bounds: BoundsConfig) -> str | None:
    """The SaleID a sale webhook body appears to carry (lower case), when it is a well-formed id."""
    found = _SALE_ID_SCAN.search(body[:64 * 1024])
    if found is None:
        return None
    try:
        candidate = found.group(1).decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return None
    return candidate if source_id_problem(candidate, bounds) is None else None


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


def _load_json(body: bytes | str, what: str) -> Any:
    """JSON from a webhook body; every way it can fail (encoding, syntax, nesting depth) is PermanentError."""
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body.lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise _invalid(f"{what} is not UTF-8 ({exc.reason})") from None
    if not text.strip():
        raise _invalid(f"{what} is empty")
    try:
        return json.loads(text)
    except RecursionError:
        raise _invalid(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise _invalid(f"{what} is not JSON ({str(exc)[:200]})") from None


def parse_sale_event(body: bytes | str, bounds: BoundsConfig | None = None) -> SaleEvent:
    """Parse a {"SaleID", "SaleOrderNumber", "EventType"} payload; extra keys are ignored.

    The SaleID must be a well-formed id (a GUID) and the other fields bounded, encodable text: they name
    archive keys, ledger keys and queue messages.
    """
    bounds = bounds or BoundsConfig()
    payload = _load_json(body, "body")
    if not isinstance(payload, dict):
        # Stock/AvailableStockLevelChanged posts a bare array of availability rows.
        kind = "an array" if isinstance(payload, list) else type(payload).__name__
        raise _invalid(f"expected a JSON object with SaleID, got {kind}")
    sale_id = payload.get("SaleID")
    if sale_id is None:
        hint = " (payload has SaleTaskID: a task event, not a sale event)" if "SaleTaskID" in payload else ""
        raise _invalid(f"field 'SaleID' is missing{hint}")
    if not isinstance(sale_id, str) or not sale_id.strip():
        raise _invalid(f"field 'SaleID' must be a non-blank string, got a {type(sale_id).__name__}")
    # Webhooks send GUIDs in upper case, the API in lower case; keep the API's form.
    sale_id = sale_id.strip().lower()
    bad_id = source_id_problem(sale_id, bounds, "field 'SaleID'")
    if bad_id is not None:
        raise PermanentError(bad_id.reason, f"Cin7 webhook: {bad_id.detail}")
    event_type = _text(payload, "EventType")
    order_number = _text(payload, "SaleOrderNumber", "OrderNumber")
    for name, value in (("EventType", event_type), ("SaleOrderNumber", order_number)):
        bad = id_problem(value, bounds, f"field '{name}'")
        if bad is not None:
            raise PermanentError(bad.reason, f"Cin7 webhook: {bad.detail}")
    return SaleEvent(sale_id=sale_id, event_type=event_type, order_number=order_number)


def parse_stock_event(body: bytes | str, bounds: BoundsConfig | None = None) -> list[str]:
    """Stock/AvailableStockLevelChanged: a bare array of availability rows; only the SKUs are kept.

    The rows' figures are not trusted (they may be stale by the time the event arrives, and events can
    arrive out of order): the pusher re-reads these SKUs from the API.
    """
    bounds = bounds or BoundsConfig()
    payload = _load_json(body, "stock event body")
    if isinstance(payload, dict):  # some accounts wrap the rows; accept the documented key if present
        payload = payload.get("ProductAvailabilityList", payload.get("Rows"))
    if not isinstance(payload, list):
        raise _invalid("stock event: expected a JSON array of availability rows")
    if len(payload) > bounds.max_skus_per_message:
        raise PermanentError(ReasonCode.TOO_MANY_LINES, f"Cin7 webhook: stock event has {len(payload)} rows; "
                             f"at most {bounds.max_skus_per_message}")
    skus = []
    for index, row in enumerate(payload):
        sku = row.get("SKU") if isinstance(row, dict) else None
        if not isinstance(sku, str):
            raise _invalid(f"stock event row {index}: field 'SKU' is missing or not text")
        if not sku.strip():
            raise PermanentError(ReasonCode.SKU_BLANK, f"Cin7 webhook: stock event row {index}: field 'SKU' is blank")
        bad = text_problem(sku, bounds.max_sku_length)
        if bad is not None:
            raise PermanentError(ReasonCode.SKU_INVALID, f"Cin7 webhook: stock event row {index}: SKU {bad}")
        skus.append(sku)
    return sorted(set(skus))
