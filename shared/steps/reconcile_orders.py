"""Daily order reconciliation: every order the window touched, its despatches and state at the warehouse
against what its source's order holds; a dated report in the archive and the gap count for the alarm.

Which orders: those the ledger has at the warehouse that entered their stage within the window, and every
order the warehouse despatched within it. The comparison is pure (shared/flows/reconciliation.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from shared.errors import PermanentError
from shared.flows.reconciliation import Despatch, Gap, GapKind, ShopSide, WarehouseSide, compare, report
from shared.models.feed import Rejected
from shared.runtime import Runtime

logger = Logger(child=True)


def reconcile_orders(rt: Runtime) -> dict[str, Any]:
    """Compare, report, count: `gaps` feeds the orders-unreconciled alarm."""
    pipeline = rt.config.reconciliation
    now = rt.clock.now()
    since = now - timedelta(hours=pipeline.lookback_hours)
    despatched: dict[str, list[Despatch]] = {}
    unreadable = 0
    for item in rt.shipment_source.shipments_since(since):
        if isinstance(item, Rejected):
            unreadable += 1
            continue
        despatched.setdefault(item.client_reference, []).append(
            Despatch(
                despatch_id=item.parcel_id,
                units={line.sku: int(line.quantity) for line in item.lines},
                tracking=frozenset(item.tracking_numbers),
            )
        )
    orders: dict[str, str] = {}  # reference -> order key
    for entry in rt.ledger.scan():
        reference = entry.client_reference
        if not reference or not entry.warehouse_order_id:
            continue
        entered = datetime.fromisoformat(entry.stage_at) if entry.stage_at else None
        if reference in despatched or (entered is not None and entered >= since):
            orders[reference] = entry.order_key
    gaps: list[Gap] = []
    unknown = sorted(set(despatched) - set(orders))
    for reference in unknown:
        gaps.append(Gap(reference=reference, kind=GapKind.DESPATCH_NOT_AT_SHOP, detail="despatched; no order known"))
    compared = 0
    for reference, order_key in sorted(orders.items())[: pipeline.max_orders]:
        try:
            record = rt.order_records.order_record(order_key.split("#", 1)[1])
            found = rt.order_target.find_order(reference)
        except PermanentError as error:
            logger.warning("order not reconciled", extra={"order_key": order_key, "detail": error.detail})
            continue
        compared += 1
        shop = ShopSide(
            order_state=record.order_state,
            shipment_state=record.shipment_state,
            delivered=record.delivered,
            tracking=frozenset(record.tracking),
            cancelled=record.cancelled,
        )
        warehouse = (
            None
            if found is None
            else WarehouseSide(status=found.status, despatches=tuple(despatched.get(reference, ())))
        )
        gaps.extend(compare(reference, warehouse, shop))
    made = report(now.date(), compared, gaps)
    key = rt.archive.put_report(
        kind="order-reconciliation",
        body={
            **made.model_dump(mode="json"),
            "since": since.isoformat(),
            "despatches": sum(len(d) for d in despatched.values()),
            "unreadable_despatches": unreadable,
            "not_compared": max(0, len(orders) - pipeline.max_orders),
        },
        now=now,
    )
    logger.info("orders reconciled", extra={"report": key, "compared": compared, "gaps": len(gaps)})
    return {"compared": compared, "gaps": len(gaps), "report": key}
