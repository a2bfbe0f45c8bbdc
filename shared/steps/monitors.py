"""The order monitor: stalled orders, source/warehouse disagreements and the exception rate, every minute.

Reads only the ledger's open stages (by-stage index) and, for a bounded few orders per run, the
warehouse's live status. Opens one exception per stalled or mismatched order (owned by operations),
resolves it by itself when the order moves on, and reports the numbers the alarms watch.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from shared.errors import PermanentError, TransientError
from shared.flows.monitors import (
    WATCHED_STAGES,
    Breach,
    due_for_check,
    mismatch,
    stage_latencies,
    stalled,
)
from shared.models import ReasonCode, owner_of
from shared.runtime import Runtime
from shared.stores.exceptions import ExceptionRecord, ExceptionStatus
from shared.stores.ledger import LedgerEntry, Stage

logger = Logger(child=True)

STALL_FLOW = "stall_monitor"
MISMATCH_FLOW = "mismatch_monitor"
MONITOR_FLOWS = (STALL_FLOW, MISMATCH_FLOW)
CURSOR = "monitor.orders"
# The first run (no cursor) looks back this far for the exception rate and stage latencies.
FIRST_LOOKBACK = timedelta(minutes=5)


def monitor_orders(rt: Runtime) -> dict[str, Any]:
    """One monitor run; returns the counts the handler turns into metrics."""
    now = rt.clock.now()
    settings = rt.config.monitoring
    previous = rt.cursors.get(CURSOR)
    since = previous or now - FIRST_LOOKBACK
    entries = rt.ledger.at_stages(WATCHED_STAGES)
    open_now = {(e.flow, e.business_key): e for e in rt.exceptions.in_status(ExceptionStatus.OPEN)
                if e.flow in MONITOR_FLOWS}

    breaches = {entry.order_key: found for entry in entries if (found := stalled(entry, settings.sla_minutes, now))}
    opened = sum(_open(rt, STALL_FLOW, key, ReasonCode.ORDER_STALLED, _describe(found), now, open_now)
                 for key, found in breaches.items())
    resolved = sum(rt.exceptions.resolve(STALL_FLOW, key, by=f"{STALL_FLOW}:moved_on", now=now)
                   for flow, key in open_now if flow == STALL_FLOW and key not in breaches)

    checked, mismatched, cleared = _check_mismatches(rt, entries, open_now, now)
    latencies: dict[str, list[float]] = {}
    for entry in entries + _recently_closed(rt, since):
        for stage, seconds in stage_latencies(entry, since, now):
            latencies.setdefault(stage, []).append(seconds)
    raised = [e for status in (ExceptionStatus.OPEN, ExceptionStatus.RETRYING)
              for e in rt.exceptions.in_status(status, seen_after=since) if e.flow not in MONITOR_FLOWS]
    rt.cursors.advance(CURSOR, now, now, previous=previous)

    open_mismatches = {k for (flow, k) in open_now if flow == MISMATCH_FLOW} - cleared | mismatched
    result = {
        "watched": len(entries), "stalled": len(breaches), "stalled_opened": opened, "stalled_resolved": resolved,
        "mismatch_checked": checked, "mismatches_open": len(open_mismatches),
        "mismatches_found": len(mismatched), "mismatches_cleared": len(cleared),
        "exceptions_raised": len(raised), "latencies": latencies,
    }
    if breaches or mismatched:
        logger.warning("orders need attention", extra={k: v for k, v in result.items() if k != "latencies"})
    return result


def _describe(breaches: list[Breach]) -> str:
    return "; ".join(f"{b.stage.value}: {b.detail}" for b in breaches)


def _open(
    rt: Runtime, flow: str, order_key: str, reason: ReasonCode, detail: str, now: datetime,
    open_now: dict[tuple[str, str], ExceptionRecord],
) -> bool:
    """Open the exception once; later runs leave it alone (attempts and last seen mean real recurrences)."""
    if (flow, order_key) in open_now:
        return False
    rt.exceptions.quarantine(flow=flow, business_key=order_key, reasons=[reason], team=owner_of(reason),
                             detail=detail, now=now)
    logger.warning("order flagged", extra={"order_key": order_key, "reason_code": reason.value, "detail": detail})
    return True


def _check_mismatches(
    rt: Runtime, entries: list[LedgerEntry], open_now: dict[tuple[str, str], ExceptionRecord], now: datetime
) -> tuple[int, set[str], set[str]]:
    """Read the live status of a bounded few open warehouse orders; returns (read, mismatched, cleared)."""
    settings = rt.config.monitoring.mismatch
    due = due_for_check(entries, settings, now)
    mismatched: set[str] = set()
    cleared: set[str] = set()
    watched = {entry.order_key for entry in entries}
    # A mismatch on an order that has since left the open stages (shipped and closed) is over.
    for flow, key in open_now:
        if flow == MISMATCH_FLOW and key not in watched:
            rt.exceptions.resolve(MISMATCH_FLOW, key, by=f"{MISMATCH_FLOW}:closed", now=now)
            cleared.add(key)
    checked = 0
    for entry in due:
        assert entry.warehouse_order_id is not None
        try:
            observed = rt.warehouse.order_state(entry.warehouse_order_id)
        except (TransientError, PermanentError) as error:
            # The next run reads it again; a failing warehouse shows in the connector metrics, not here.
            logger.info("live status unavailable", extra={"order_key": entry.order_key, "error": str(error)})
            break
        checked += 1
        rt.ledger.mark_checked(entry.order_key, now)
        found = mismatch(entry, observed, settings, now)
        if found is None:
            if (MISMATCH_FLOW, entry.order_key) in open_now and rt.exceptions.resolve(
                    MISMATCH_FLOW, entry.order_key, by=f"{MISMATCH_FLOW}:agrees", now=now):
                cleared.add(entry.order_key)
            continue
        mismatched.add(entry.order_key)
        _open(rt, MISMATCH_FLOW, entry.order_key, ReasonCode.ORDER_MISMATCH, f"{found.kind.value}: {found.detail}",
              now, open_now)
    return checked, mismatched, cleared


def _recently_closed(rt: Runtime, since: datetime) -> list[LedgerEntry]:
    """Orders that reached `shipped` since the last run, for the write-back and ship latencies."""
    return rt.ledger.at_stages((Stage.SHIPPED,), updated_after=since)
