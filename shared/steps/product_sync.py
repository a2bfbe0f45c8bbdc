"""One product to the warehouse: created or updated by the fields it owns, its prices, and the orders held for it.

Sync is idempotent per (SKU, version): the SKU map remembers the version last synced, so a re-listed
product costs no warehouse call. Fields the warehouse owns are sent on creation only. When a SKU goes
live, every order held for it is re-sent to intake, which re-reads it and releases it through the
normal submit path and its idempotency. The poll that sends products here is shared/steps/catalogue.py.
"""

from __future__ import annotations

from enum import StrEnum

from aws_lambda_powertools import Logger

from shared.errors import PermanentError, StepAsideError
from shared.flows.catalogue import SyncAction, already_synced, decide_sync
from shared.flows.prices import plan_prices
from shared.models import ReasonCode, owner_of
from shared.models.messages import ProductMessage
from shared.models.product import Product
from shared.ports import PriceTarget
from shared.runtime import Runtime
from shared.steps.catalogue import FLOW
from shared.stores.sku_map import SkuRecord, SkuStatus

logger = Logger(child=True)

PRICE_FLOW = "price_sync"


class SyncResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


def sync_product(message: ProductMessage, rt: Runtime) -> SyncResult:
    product = message.product
    now = rt.clock.now()
    known = rt.sku_map.get(product.sku)
    if known is not None and known.status == SkuStatus.LIVE and already_synced(product, known.synced_version):
        sync_prices(rt, product, known)  # no call unless a price failed to go out before (a replay)
        if known.waiting_orders:  # a delivery that gave way (StepAsideError) after the product but before these
            release_waiting_orders(rt, product.sku)
        return SyncResult.UNCHANGED
    try:
        # Inside the try: a refused look-up (an unserved endpoint, a bad row) is quarantined and replayable
        # like a refused write, never retried into the DLQ.
        existing = rt.catalogue_target.find_product(product.sku)
        decision = decide_sync(product, existing, rt.config.catalogue.field_owners)
        if decision.action == SyncAction.REJECT:
            raise PermanentError(decision.problems[0].reason, "; ".join(p.detail for p in decision.problems))
        if decision.action == SyncAction.CREATE:
            existing = rt.catalogue_target.create_product(product)
        elif decision.action == SyncAction.UPDATE:
            assert existing is not None
            rt.catalogue_target.update_product(existing, product, decision.fields)
    except PermanentError as error:
        _reject(rt, message, error)
        return SyncResult.REJECTED
    if existing is None:  # deprecated at the source and never at the warehouse: nothing to do
        return SyncResult.UNCHANGED
    rt.sku_map.record(product.sku, SkuStatus.LIVE, now=now, item_id=existing.item_id, version=product.updated_at)
    rt.exceptions.resolve(FLOW, f"sku#{product.sku}", by=FLOW, now=now)
    sync_prices(rt, product, known)
    released = release_waiting_orders(rt, product.sku)
    logger.info(
        "product at warehouse",
        extra={
            "sku": product.sku,
            "action": decision.action,
            "fields": list(decision.fields),
            "orders_released": released,
        },
    )
    return {SyncAction.CREATE: SyncResult.CREATED, SyncAction.UPDATE: SyncResult.UPDATED}.get(
        decision.action, SyncResult.UNCHANGED
    )


def sync_prices(rt: Runtime, product: Product, known: SkuRecord | None) -> int:
    """The product's tier prices into the target's price lists (SFCC price books), changes only.

    After the product itself, so a price never goes to a product the target lacks. What was written is kept
    in the SKU map, so an unchanged price costs no call; a refused price is an exception of its own
    (`price_rejected`, or `endpoint_unavailable` for a price path the target does not serve) and never holds
    the product back. Returns the prices written.
    """
    target = rt.catalogue_target
    if not isinstance(target, PriceTarget) or not product.active:
        return 0
    lists = target.price_lists()
    if not lists:
        return 0
    now = rt.clock.now()
    last = dict(known.prices) if known is not None else {}
    plan = plan_prices(product.prices, lists, last)
    refusals: list[tuple[ReasonCode, str]] = [(ReasonCode.PRICE_REJECTED, problem) for problem in plan.problems]
    written = 0
    for write in plan.writes:
        try:
            target.write_price(product.sku, write.price_list, write.amount)
        except PermanentError as error:
            refusals.append((error.reason, f"{write.price_list.list_id}: {error.detail}"))
            continue
        except StepAsideError:
            # Giving way to order work: what went out is kept, so the redelivery writes only the rest.
            if written:
                rt.sku_map.record_prices(product.sku, last, now=now)
            raise
        last[write.price_list.list_id] = write.amount
        written += 1
    if written:
        rt.sku_map.record_prices(product.sku, last, now=now)
    business_key = f"sku#{product.sku}"
    if refusals:
        reasons = sorted({reason for reason, _ in refusals})
        rt.exceptions.quarantine(
            flow=PRICE_FLOW,
            business_key=business_key,
            reasons=reasons,
            team=owner_of(reasons[0]),
            detail="; ".join(detail for _, detail in refusals),
            now=now,
            replay_queue="product-sync",
            replay_message=ProductMessage(client=rt.config.client, trigger="replay", product=product).model_dump(
                mode="json"
            ),
        )
    else:
        rt.exceptions.resolve(PRICE_FLOW, business_key, by=PRICE_FLOW, now=now)
    rt.tally.update({"prices_written": written, "prices_unchanged": plan.unchanged, "prices_refused": len(refusals)})
    return written


def release_waiting_orders(rt: Runtime, sku: str) -> int:
    """Re-send every order held for this SKU to intake (intake decides again on fresh data)."""
    record = rt.sku_map.get(sku)
    if record is None or not record.waiting_orders:
        return 0
    from shared.models.messages import IntakeMessage  # only when orders wait for this SKU

    messages = []
    for order_key in sorted(record.waiting_orders):
        source, source_id = order_key.split("#", 1)
        messages.append(
            IntakeMessage(
                client=rt.config.client,
                source=source,
                source_id=source_id,
                trigger="sku_live",
                event_type=f"sku_live:{sku}",
            )
        )
    rt.send_batch("order-intake", list(messages))
    rt.sku_map.release_waiting(sku, record.waiting_orders)
    return len(messages)


def _reject(rt: Runtime, message: ProductMessage, error: PermanentError) -> None:
    product = message.product
    now = rt.clock.now()
    rt.sku_map.record(product.sku, SkuStatus.REJECTED, now=now, version=product.updated_at, reason=error.reason.value)
    payload_key = rt.archive.put(order_key=None, kind="product-rejected", body=message.model_dump(mode="json"), now=now)
    rt.exceptions.quarantine(
        flow=FLOW,
        business_key=f"sku#{product.sku}",
        reasons=[error.reason],
        team=owner_of(error.reason),
        detail=error.detail,
        now=now,
        payload_key=payload_key,
        replay_queue="product-sync",
        replay_message=message.model_copy(update={"trigger": "replay"}).model_dump(mode="json"),
        supersede=True,
    )
    logger.warning(
        "product rejected", extra={"sku": product.sku, "reason_code": error.reason.value, "detail": error.detail}
    )
