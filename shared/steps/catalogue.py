"""SKU fan-out, the poll: products changed in the master go to the sync queue, and orders held too long for a
SKU become exceptions. The sync itself is shared/steps/product_sync.py and the daily audit shared/steps/sku_audit.py,
each apart so a hop's cold start loads only its own step's decisions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.models import ReasonCode, owner_of
from shared.models.messages import ProductMessage
from shared.runtime import Runtime
from shared.steps.polling import poll_feed
from shared.stores.exceptions import ExceptionStatus, PayloadReplay

# The product sync's flow (shared/steps/product_sync.py), whose products the poll sends and quarantines.
FLOW = "product_sync"


def product_feed(rt: Runtime) -> str:
    """The product poll's cursor, named by the catalogue source's type ("cin7_core.products")."""
    return f"{rt.catalogue_source.name}.products"


def poll_products(rt: Runtime) -> dict[str, Any]:
    """Products changed since the cursor go to the sync queue; then the long-hold check."""
    result: dict[str, Any] = poll_feed(
        rt,
        feed=product_feed(rt),
        overlap_minutes=rt.config.catalogue.poll_overlap_minutes,
        first_lookback=timedelta(days=1),
        read=rt.catalogue_source.products_changed_since,
        stamp=lambda p: p.updated_at,
        queue="product-sync",
        to_message=lambda p: ProductMessage(client=rt.config.client, trigger="poll", product=p),
        flow=FLOW,
        unreadable_kind="source-product-unreadable",
        replay_payload=PayloadReplay.CIN7_PRODUCT_ROW,
    )
    return {**result, "held_too_long": flag_long_holds(rt)}


def flag_long_holds(rt: Runtime) -> int:
    """Orders waiting for a SKU longer than the configured time become exceptions owned by ecommerce.

    Once per hold: an order whose exception is still open is not raised again on every poll (that re-counted
    it, listed its archive and wrote the exception every 15 minutes while it waited). Resolved while the order
    is still held, it is raised again. Returns the orders raised by this run."""
    now = rt.clock.now()
    limit = timedelta(minutes=rt.config.catalogue.hold_alert_minutes)
    flagged = 0
    held = [
        (record, order_key)
        for record in rt.sku_map.waiting()
        if record.pending_since is not None and now - record.pending_since >= limit
        for order_key in sorted(record.waiting_orders)
    ]
    alert_of = {key: rt.exceptions.exception_id("order_intake", key, ReasonCode.SKU_PENDING) for _, key in held}
    alerts = rt.exceptions.get_many(alert_of.values())  # one read per 100 held orders, not one each
    raised: set[str] = set()  # an order held for two SKUs is raised once
    for record, order_key in held:
        assert record.pending_since is not None
        alert = alerts.get(alert_of[order_key])
        if order_key in raised or (alert is not None and alert.status == ExceptionStatus.OPEN):
            continue
        raised.add(order_key)
        source, source_id = order_key.split("#", 1)
        from shared.models.messages import IntakeMessage  # only for an order held too long

        replay = IntakeMessage(
            client=rt.config.client,
            source=source,
            source_id=source_id,
            trigger="replay",
            event_type=f"sku_live:{record.sku}",
        )
        rt.exceptions.quarantine(
            flow="order_intake",
            business_key=order_key,
            reasons=[ReasonCode.SKU_PENDING],
            team=owner_of(ReasonCode.SKU_PENDING),
            now=now,
            detail=f"held since {record.pending_since.isoformat()} for SKU {record.sku!r} "
            f"(status {record.status.value}): create it in the master or fix the order",
            payload_key=_latest_source_order(rt, order_key),
            replay_queue="order-intake",
            replay_message=replay.model_dump(mode="json"),
        )
        flagged += 1
    return flagged


def _latest_source_order(rt: Runtime, order_key: str) -> str | None:
    """The order as intake last read it from its source (archived then): what the held order was judged on."""
    keys = [key for key in rt.archive.list_order(order_key) if "-source-order-" in key]
    return keys[-1] if keys else None
