"""Order intake: read the full order from its source, decide, and release, hold, skip or quarantine it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from shared.errors import PermanentError
from shared.flows.bounds import order_bound_problems
from shared.flows.problems import Problem
from shared.flows.release import (
    Outcome,
    SkuStatus,
    client_reference,
    decide_release,
    readiness,
)
from shared.flows.skus import sku_format_problem
from shared.latency import record_stage_latency
from shared.models import Order, ReasonCode, owner_of
from shared.models.messages import IntakeMessage, SubmitMessage
from shared.runtime import Runtime
from shared.stores.ledger import AT_WAREHOUSE, Stage

logger = Logger(child=True)

FLOW = "order_intake"
_MAX_PROBLEMS = 20  # per exception: enough to fix the order in one pass, small enough to store


class IntakeResult(StrEnum):
    RELEASED = "released"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"
    HELD = "held"
    HELD_FOR_SKU = "held_for_sku"
    NOT_READY = "not_ready"
    SKIPPED = "skipped"
    QUARANTINED = "quarantined"
    CANCELLED = "cancelled"


_STAGE = {
    Outcome.HOLD: (Stage.HELD, IntakeResult.HELD),
    Outcome.NOT_READY: (Stage.NOT_READY, IntakeResult.NOT_READY),
    Outcome.SKIP: (Stage.SKIPPED, IntakeResult.SKIPPED),
}


def take_in(message: IntakeMessage, rt: Runtime) -> IntakeResult:
    """One intake message to one outcome. Transient errors propagate so SQS redelivers the message."""
    now = rt.clock.now()
    key = message.order_key
    entry = rt.ledger.record_delivery(key, order_number=message.order_number, trigger=message.trigger, now=now)
    if entry.cancel_requested_at is not None:
        # A cancel came first (or meanwhile): the cancellation owns this order now; submit would refuse it too.
        logger.info("order cancel requested; not taken in", extra={"order_key": key, "trigger": message.trigger})
        return IntakeResult.CANCELLED
    if entry.stage in AT_WAREHOUSE and message.trigger != "replay":
        # Already at the warehouse: a repeated webhook or a poll re-listing costs no source call.
        if message.trigger in ("webhook", "subscription"):
            rt.ledger.count_duplicate(key, now)
        if message.trigger == "poll":
            # Still listed as ready to export (SFCC): the target holds it, so claim it at the source now.
            _mark(rt, message, exported=True)
        logger.info("order already submitted; suppressed", extra={"order_key": key, "trigger": message.trigger})
        return IntakeResult.DUPLICATE
    if entry.stage == Stage.RELEASED and message.trigger in ("webhook", "subscription"):
        # On its way: its submit message is queued, and submit sends an order once. A second read could only
        # queue a second submit for its claim to suppress, so a repeated push costs no source call. An edit
        # since (an Undo and re-authorise sends the same body) reaches the warehouse neither way; should
        # submit refuse the first, the poll lists the newer version and its version check reads it.
        rt.ledger.count_duplicate(key, now)
        logger.info("order already released; suppressed", extra={"order_key": key, "trigger": message.trigger})
        return IntakeResult.DUPLICATE
    if _decided_on_this_version(entry.source_updated_at, message):
        # A poll re-listing (the overlap window) of a version already decided: no need to read it again.
        if entry.stage == Stage.QUARANTINED:
            _mark(rt, message, exported=False)  # quarantined after release (at submit): failed at the source
        return IntakeResult.UNCHANGED

    try:
        order, payload = rt.order_source.read_order(message.source_id)
    except PermanentError as error:
        # No order payload to point at: the message as received is the evidence, and what a replay re-sends.
        payload_key = rt.archive.put(order_key=key, kind="intake-message", body=message.model_dump_json(), now=now)
        _quarantine(rt, message, [Problem(reason=error.reason, detail=error.detail)], payload_key=payload_key)
        return IntakeResult.QUARANTINED
    payload_key = rt.archive.put(order_key=key, kind="source-order", body=payload, now=now)

    out_of_bounds = order_bound_problems(order, rt.config.bounds, id_pattern=rt.config.id_pattern(order.source))
    if out_of_bounds:
        # Before readiness and the SKU map: both write the order's lines (SKUs, quantities) to stores.
        _quarantine(rt, message, out_of_bounds[:_MAX_PROBLEMS], payload_key=payload_key, version=order.updated_at)
        return IntakeResult.QUARANTINED

    early = readiness(order, rt.config.orders)
    if early is not None:
        stage, result = _STAGE[early.outcome]
        rt.ledger.set_stage(key, stage, now, reason=early.detail, source_updated_at=order.updated_at, **_demand(order))
        logger.info("order not released", extra={"order_key": key, "outcome": early.outcome, "why": early.detail})
        return result

    decision = decide_release(order, rt.config.orders, _sku_statuses(order, rt))
    if decision.outcome == Outcome.HOLD:
        rt.sku_map.hold_for(decision.pending_skus, key, now)
        rt.ledger.set_stage(
            key,
            Stage.HELD,
            now,
            reason=ReasonCode.SKU_PENDING.value,
            source_updated_at=order.updated_at,
            **_demand(order),
        )
        logger.info("order held for SKUs", extra={"order_key": key, "skus": list(decision.pending_skus)})
        return IntakeResult.HELD_FOR_SKU
    if decision.outcome == Outcome.QUARANTINE:
        _quarantine(
            rt,
            message,
            list(decision.problems),
            payload_key=payload_key,
            version=order.updated_at,
            demand=_demand(order),
        )
        return IntakeResult.QUARANTINED

    assert decision.courier_service is not None
    submit = SubmitMessage(
        client=message.client,
        source=message.source,
        source_id=message.source_id,
        client_reference=client_reference(rt.config.orders, order),
        courier_service=decision.courier_service,
        order=order,
    )
    rt.send("order-submit", submit)
    rt.ledger.set_stage(
        key,
        Stage.RELEASED,
        now,
        source_updated_at=order.updated_at,
        writeback_tokens=order.writeback_tokens,
        **_demand(order),
    )
    record_stage_latency("release", entry.timestamps.get("received"), now)
    if entry.stage in (Stage.QUARANTINED, Stage.HELD):
        rt.exceptions.resolve(FLOW, key, by=f"{FLOW}:{message.trigger}", now=now)
    logger.info("order released", extra={"order_key": key, "client_reference": submit.client_reference})
    return IntakeResult.RELEASED


def _mark(rt: Runtime, message: IntakeMessage, *, exported: bool) -> None:
    """Export status at a source that keeps one (SFCC); best effort: the order stays listed until a mark
    lands, and each listing marks it again. Never a reason to fail intake: no sale depends on it."""
    claim = rt.export_claim
    if claim is None:
        return
    try:
        if exported:
            claim.mark_exported(message.source_id)
        else:
            claim.mark_failed(message.source_id)
    except Exception as error:  # noqa: BLE001 - the ledger, not this mark, holds the order's state
        rt.tally["export_status_failed"] += 1
        logger.warning(
            "export status not written; the next listing writes it again",
            extra={"order_key": message.order_key, "exported": exported, "error": str(error)},
        )
        return
    rt.tally["export_status_exported" if exported else "export_status_failed_marked"] += 1


def _sku_statuses(order: Order, rt: Runtime) -> dict[str, SkuStatus]:
    """SKU map first; only SKUs it does not know live cost a warehouse catalogue call."""
    wanted = {line.sku for line in order.lines if sku_format_problem(line.sku) is None}
    live = rt.sku_map.live_skus(wanted)
    unknown = sorted(wanted - live)
    if unknown:
        found = rt.order_target.known_skus(unknown)
        if found:
            rt.sku_map.mark_live(found, rt.clock.now(), source="warehouse_catalogue")
        live |= found
    return {sku: SkuStatus.LIVE if sku in live else SkuStatus.MISSING for sku in wanted}


def _demand(order: Order) -> dict[str, Any]:
    """The stock this order takes at the source, by SKU, and from which location (for stock drift)."""
    ordered: dict[str, Decimal] = {}
    for line in order.lines:
        ordered[line.sku] = ordered.get(line.sku, Decimal(0)) + line.quantity
    return {"ordered": ordered, "location": order.location}


def _decided_on_this_version(decided: str | None, message: IntakeMessage) -> bool:
    if message.trigger != "poll" or decided is None or message.source_updated_at is None:
        return False
    return datetime.fromisoformat(decided) >= message.source_updated_at


def _quarantine(
    rt: Runtime,
    message: IntakeMessage,
    problems: list[Problem],
    payload_key: str | None,
    version: datetime | None = None,
    demand: dict[str, Any] | None = None,
) -> None:
    reasons: list[ReasonCode] = [p.reason for p in problems]
    detail = "; ".join(p.detail for p in problems)
    now = rt.clock.now()
    replay = message.model_copy(update={"trigger": "replay"}).model_dump(mode="json")
    exception_id = rt.exceptions.quarantine(
        flow=FLOW,
        business_key=message.order_key,
        reasons=reasons,
        team=owner_of(reasons[0]),
        detail=detail,
        now=now,
        payload_key=payload_key,
        replay_queue="order-intake",
        replay_message=replay,
        supersede=True,  # validation judges the whole order: reasons it no longer has are closed
    )
    rt.ledger.set_stage(
        message.order_key, Stage.QUARANTINED, now, reason=reasons[0].value, source_updated_at=version, **(demand or {})
    )
    _mark(rt, message, exported=False)
    logger.warning(
        "order quarantined",
        extra={
            "order_key": message.order_key,
            "reason_code": reasons[0].value,
            "reasons": [r.value for r in reasons],
            "team": owner_of(reasons[0]).value,
            "exception_id": exception_id,
            "detail": detail,
        },
    )
