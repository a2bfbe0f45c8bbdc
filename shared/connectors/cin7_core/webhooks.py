"""Cin7 Core webhooks: shared-secret check and thin sale-event parsing.

Cin7 signs nothing; the only proof of origin is the custom header (or basic/bearer credentials)
configured on the hook. Payloads are thin and not uniform, so we keep the sale id and re-read the sale.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from shared.config import BoundsConfig
from shared.connectors.cin7_core.settings import ID_PATTERN
from shared.connectors.spec import ChannelContext, Delivery, Role, WebhookChannel
from shared.errors import PermanentError
from shared.flows.bounds import id_problem, text_problem
from shared.models import Model, ReasonCode
from shared.models.messages import CancelRequest, IntakeMessage
from shared.models.stock import StockSyncMessage


def verify_shared_secret(
    headers: Mapping[str, Any] | None,
    header_name: str,
    expected: str,
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
    return all(
        isinstance(value, str) and value and hmac.compare_digest(value.encode("utf-8", "surrogatepass"), secret)
        for value in received
    )


# A scan, not a parse: finds the sale id in a body that may not parse at all, so the payload can be
# archived with its order before parsing. Only an id that passes the id bounds names an archive key.
_SALE_ID_SCAN = re.compile(rb'"SaleID"\s*:\s*"([^"\\]{1,512})"')


def scan_sale_id(body: bytes, bounds: BoundsConfig) -> str | None:
    """The SaleID a sale webhook body appears to carry (lower case), when it is a well-formed id."""
    found = _SALE_ID_SCAN.search(body[: 64 * 1024])
    if found is None:
        return None
    try:
        candidate = found.group(1).decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return None
    return candidate if id_problem(candidate, bounds, "sale id", pattern=ID_PATTERN) is None else None


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
    bad_id = id_problem(sale_id, bounds, "field 'SaleID'", pattern=ID_PATTERN)
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
        raise PermanentError(
            ReasonCode.TOO_MANY_LINES,
            f"Cin7 webhook: stock event has {len(payload)} rows; at most {bounds.max_skus_per_message}",
        )
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


# -- the inbound channels the one receiver serves: POST /webhooks/{instance}/sales and .../stock -----------
def _verify(headers: Mapping[str, str], multi: Mapping[str, list[str]] | None, secret: str, settings: Any) -> bool:
    return verify_shared_secret(headers, str(getattr(settings, "webhook_header", "")), secret, multi)


def _sales(body: bytes, ctx: ChannelContext) -> list[Delivery]:
    """A sale event: Sale/Voided is a cancel request; any other asks intake to re-read the sale."""
    scanned = scan_sale_id(body, ctx.bounds)
    sale = parse_sale_event(body, ctx.bounds)
    if scanned is not None and sale.sale_id != scanned:  # JSON keeps the last of repeated keys
        raise PermanentError(ReasonCode.PAYLOAD_INVALID, "Cin7 webhook: the body names more than one SaleID")
    if sale.is_void:
        if ctx.config.pipelines.cancellation is None:
            return []  # this client runs no cancellation: a voided sale is the source's business alone
        return [
            Delivery(
                "cancel-requests",
                CancelRequest(
                    client=ctx.client,
                    source=ctx.platform_type,
                    source_id=sale.sale_id,
                    order_number=sale.order_number,
                    requested_at=ctx.now,
                    reason="voided at Cin7 Core",
                    trigger="webhook",
                    event_type=sale.event_type,
                ),
            )
        ]
    return [
        Delivery(
            "order-intake",
            IntakeMessage(
                client=ctx.client,
                source=ctx.platform_type,
                source_id=sale.sale_id,
                order_number=sale.order_number,
                trigger="webhook",
                event_type=sale.event_type,
                archive_key=ctx.archive_key,
            ),
        )
    ]


def _stock(body: bytes, ctx: ChannelContext) -> list[Delivery]:
    """Stock/AvailableStockLevelChanged: the SKUs are re-read from the API by the pusher, in pages."""
    skus = parse_stock_event(body, ctx.bounds)
    if ctx.config.pipelines.stock is None or not skus:
        return []
    size = ctx.config.stock.skus_per_message
    return [
        Delivery(
            "stock-sync", StockSyncMessage(client=ctx.client, trigger="event", skus=skus[i : i + size], read_at=ctx.now)
        )
        for i in range(0, len(skus), size)
    ]


SALES = WebhookChannel(
    name="sales",
    purpose="Cin7 Core sale events (authorised, voided): a sale reference for intake or a cancel",
    roles=(Role.ORDER_SOURCE, Role.CANCEL_SOURCE),
    sends_to=("order-intake", "cancel-requests"),
    flow="webhook_receiver",
    archive_kind="webhook",
    verify=_verify,
    parse=_sales,
    archive_id=scan_sale_id,
    replay_queue="order-intake",
    replay_payload="cin7_sale_webhook",
    header_field="webhook_header",
    register_in="Integrations > Webhooks, for Sale/OrderAuthorised, Sale/Backordered and Sale/Voided, "
    "with the webhook_header and the secret's value under ExternalHeaders",
)
STOCK = WebhookChannel(
    name="stock",
    purpose="Cin7 Core stock-level events: their SKUs are re-read and pushed",
    roles=(Role.STOCK_MASTER,),
    sends_to=("stock-sync",),
    flow="stock_sync",
    archive_kind="stock-webhook",
    verify=_verify,
    parse=_stock,
    replay_queue="stock-sync",
    replay_payload="cin7_stock_webhook",
    header_field="webhook_header",
    register_in="Integrations > Webhooks, for Stock/AvailableStockLevelChanged, "
    "with the webhook_header and the secret's value under ExternalHeaders",
)
