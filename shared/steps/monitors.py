"""The order monitor: stalled orders, source/warehouse disagreements and the exception rate, every minute.

Every read is bounded, whatever the ledger's history holds: the by-stage index answers "at stage X
since before T" (only orders already over their SLA come back), despatch markers answer "despatched
and not written back", and the mismatch check reads the warehouse only for the open orders due a check
(old enough, not read within the recheck interval), rotating through them. Where the warehouse lists
orders changed since a moment (`WarehouseStateFeed`), one listing answers every due order of the run
and only an order it does not show is read alone (at most `max_per_run`): the calls follow the runs,
not the open orders. One exception per stalled or mismatched order (owned by operations), resolved by
the monitor itself when the order moves on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from shared.errors import PermanentError, TransientError
from shared.flows.backlog import orders_backlog
from shared.flows.monitors import AT_WAREHOUSE_OPEN, Breach, due_for_check, listing_since, mismatch, stalled
from shared.models import ReasonCode, WarehouseOrderRef, owner_of
from shared.ports import WarehouseStateFeed
from shared.runtime import Runtime
from shared.stores.exceptions import ExceptionRecord, ExceptionStatus
from shared.stores.ledger import LedgerEntry, Stage

logger = Logger(child=True)

STALL_FLOW = "stall_monitor"
MISMATCH_FLOW = "mismatch_monitor"
MONITOR_FLOWS = (STALL_FLOW, MISMATCH_FLOW)
CURSOR = "monitor.orders"
ROTATION = "monitor.mismatch."  # + stage: where the mismatch check's rotation through open orders stands
# The first run (no cursor) looks back this far for the exception rate.
FIRST_LOOKBACK = timedelta(minutes=5)
# Mismatch reads, the at-warehouse SLA and the exception count run this often (the quarantine-rate
# alarm sums 15 minutes); the other stall rules run every time.
SLOW_EVERY = timedelta(minutes=15)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Released orders counted per run for the backlog figure (oldest first: the age is exact beyond it too).
BACKLOG_COUNT_LIMIT = 5000
# Open orders judged per run from one changed-since listing (a warehouse that lists them); its page (Cin7
# 1,000 rows, Scend 100) usually covers them all.
LISTED_PER_RUN = 100
# The listing starts this long before the earliest due order's submission: the warehouse's clock and ours.
LISTING_OVERLAP = timedelta(minutes=5)

OpenExceptions = dict[tuple[str, str], ExceptionRecord]


def monitor_orders(rt: Runtime) -> dict[str, Any]:
    """One monitor run; returns the counts the handler turns into metrics."""
    now = rt.clock.now()
    # Every SLOW_EVERY a run also checks the two-day at-warehouse SLA, reads the warehouse for mismatches
    # and counts the exceptions raised: their alarms look at 15-minute sums or hours-long conditions,
    # and doing them every minute would only multiply the reads.
    previous = rt.cursors.get(CURSOR)
    slow = previous is None or now - previous >= SLOW_EVERY
    open_now = {(e.flow, e.business_key): e for e in rt.exceptions.in_status(ExceptionStatus.OPEN, flows=MONITOR_FLOWS)}
    released = rt.ledger.entries_at(Stage.RELEASED, limit=BACKLOG_COUNT_LIMIT)
    stalled_now, opened, resolved = _stalls(rt, open_now, now, slow=slow, released=released)
    result: dict[str, Any] = {
        "stalled": len(stalled_now),
        "stalled_opened": opened,
        "stalled_resolved": resolved,
        "mismatch_checked": 0,
        "mismatch_reads": 0,
        "mismatches_found": 0,
        "mismatches_cleared": 0,
        "exceptions_raised": 0,
    }
    mismatched: set[str] = set()
    cleared: set[str] = set()
    if slow:
        since = previous or now - FIRST_LOOKBACK
        checked, reads, mismatched, cleared = _mismatches(rt, open_now, now)
        # Half-open window [since, now): the next slow run starts where this one ends; each is counted once.
        raised = [
            e
            for status in (ExceptionStatus.OPEN, ExceptionStatus.RETRYING)
            for e in rt.exceptions.in_status(status, seen_since=since)
            if e.flow not in MONITOR_FLOWS and datetime.fromisoformat(e.last_seen) < now
        ]
        rt.cursors.advance(CURSOR, now, now, previous=previous)
        result.update(
            {
                "mismatch_checked": checked,
                "mismatch_reads": reads,
                "mismatches_found": len(mismatched),
                "mismatches_cleared": len(cleared),
                "exceptions_raised": len(raised),
            }
        )
    open_mismatches = ({key for flow, key in open_now if flow == MISMATCH_FLOW} - cleared) | mismatched
    result["mismatches_open"] = len(open_mismatches)
    released_at = [datetime.fromisoformat(entry.stage_at) for entry in released if entry.stage_at]
    backlog = orders_backlog(released_at, now, rt.config.monitoring.backlog_alarm_seconds)
    result["orders_waiting"] = backlog.waiting
    result["orders_oldest_wait_seconds"] = round(backlog.oldest_seconds or 0.0)
    if stalled_now or mismatched:
        logger.warning("orders need attention", extra=result)
    return result


def _stalls(
    rt: Runtime, open_now: OpenExceptions, now: datetime, *, slow: bool, released: list[LedgerEntry]
) -> tuple[set[str], int, int]:
    """Orders over an SLA now: (stalled order keys, exceptions opened, exceptions resolved).

    `released` is the run's one read of the orders waiting for the target (oldest first, at most
    BACKLOG_COUNT_LIMIT): the backlog's figure and this stage's late orders both come from it; only a read
    that came back full leaves older-than-the-SLA orders unread, and then the stage is queried on its own."""
    sla = rt.config.monitoring.sla_minutes
    released_before = now - timedelta(minutes=sla.released_to_warehouse)
    rules = [(Stage.RECEIVED, sla.received_to_released)]
    if len(released) >= BACKLOG_COUNT_LIMIT:
        rules.append((Stage.RELEASED, sla.released_to_warehouse))
    if slow:  # a two-day SLA: checked every few minutes, not every minute
        rules.append((Stage.SUBMITTED, sla.warehouse_to_shipped))
    candidates: dict[str, LedgerEntry | None] = {
        entry.order_key: entry
        for entry in released
        if entry.stage_at and datetime.fromisoformat(entry.stage_at) < released_before
    }
    for stage, minutes in rules:
        for late in rt.ledger.entries_at(stage, entered_before=now - timedelta(minutes=minutes)):
            candidates[late.order_key] = late
    markers = rt.ledger.awaiting_writeback(despatched_before=now - timedelta(minutes=sla.shipped_to_written_back))
    # Orders already flagged are looked at again, so their exception closes when they move on.
    unread = ({m.order_key for m in markers} | {key for flow, key in open_now if flow == STALL_FLOW}) - set(candidates)
    stored = rt.ledger.get_many(unread)  # one read per 100 orders
    candidates.update({key: stored.get(key) for key in unread})
    for marker in markers:
        entry = candidates.get(marker.order_key)
        if entry is None or marker.parcel_id in entry.shipments:
            rt.ledger.clear_despatch(marker.parcel_id)  # outlived a race with its write-back

    breaches = {
        key: found for key, entry in candidates.items() if entry is not None and (found := stalled(entry, sla, now))
    }
    opened = sum(
        _open(rt, STALL_FLOW, key, ReasonCode.ORDER_STALLED, _describe(found), now, open_now)
        for key, found in breaches.items()
    )
    resolved = sum(
        rt.exceptions.resolve(STALL_FLOW, key, by=f"{STALL_FLOW}:moved_on", now=now)
        for flow, key in open_now
        if flow == STALL_FLOW and key not in breaches
    )
    return set(breaches), opened, resolved


def _describe(breaches: list[Breach]) -> str:
    return "; ".join(f"{b.stage.value}: {b.detail}" for b in breaches)


def _open(
    rt: Runtime, flow: str, order_key: str, reason: ReasonCode, detail: str, now: datetime, open_now: OpenExceptions
) -> bool:
    """Open the exception once; later runs leave it alone (attempts and last seen mean real recurrences)."""
    if (flow, order_key) in open_now:
        return False
    rt.exceptions.quarantine(
        flow=flow, business_key=order_key, reasons=[reason], team=owner_of(reason), detail=detail, now=now
    )
    logger.warning("order flagged", extra={"order_key": order_key, "reason_code": reason.value, "detail": detail})
    return True


def _mismatches(rt: Runtime, open_now: OpenExceptions, now: datetime) -> tuple[int, int, set[str], set[str]]:
    """Read the live warehouse status of the open orders due a check: (checked, warehouse calls, mismatched,
    cleared)."""
    settings = rt.config.monitoring.mismatch
    cleared: set[str] = set()
    # A mismatch whose order has since left the open stages (shipped and closed, or gone) is over.
    flagged = {key for flow, key in open_now if flow == MISMATCH_FLOW}
    stored = rt.ledger.get_many(flagged)  # one read per 100 orders
    for key in sorted(flagged):
        entry = stored.get(key)
        if (entry is None or entry.closed or entry.stage not in AT_WAREHOUSE_OPEN) and rt.exceptions.resolve(
            MISMATCH_FLOW, key, by=f"{MISMATCH_FLOW}:closed", now=now
        ):
            cleared.add(key)
    if settings.max_per_run == 0:
        return 0, 0, set(), cleared
    target = rt.cancel_target
    feed = target if isinstance(target, WarehouseStateFeed) else None
    batch = LISTED_PER_RUN if feed is not None else settings.max_per_run
    # Submitted orders only: a part-shipped order is known to the warehouse and moving; its rest is timed
    # by the stall rules.
    page = _rotate(rt, Stage.SUBMITTED, now - timedelta(minutes=settings.min_age_minutes), now, 2 * batch)
    due = due_for_check(page, settings, now, limit=batch)
    reads = 0
    listed: dict[str, WarehouseOrderRef] = {}
    since = listing_since(due, LISTING_OVERLAP)
    if feed is not None and since is not None:
        try:
            listed = {ref.warehouse_order_id: ref for ref in feed.order_states_since(since)}
        except (TransientError, PermanentError) as error:
            logger.info("warehouse listing unavailable", extra={"error": str(error)})
            return 0, 1, set(), cleared
        reads += 1
    alone = settings.max_per_run  # orders the listing did not show, read one by one
    checked, mismatched = 0, set()
    for entry in due:
        assert entry.warehouse_order_id is not None
        observed = listed.get(entry.warehouse_order_id)
        if observed is None:
            # Not listed (no listing, a page cut at its limit, a change before the window) or unknown to the
            # warehouse: only its own read tells which. The rest wait for a later run.
            if alone == 0:
                continue
            alone -= 1
            reads += 1
            try:
                observed = target.order_state(entry.warehouse_order_id)
            except (TransientError, PermanentError) as error:
                # The next run reads it again; a failing warehouse shows in the connector's own alarms, not here.
                logger.info("live status unavailable", extra={"order_key": entry.order_key, "error": str(error)})
                break
        checked += 1
        rt.ledger.mark_checked(entry.order_key, now)
        found = mismatch(entry, observed, settings, now)
        if found is None:
            if (MISMATCH_FLOW, entry.order_key) in open_now and rt.exceptions.resolve(
                MISMATCH_FLOW, entry.order_key, by=f"{MISMATCH_FLOW}:agrees", now=now
            ):
                cleared.add(entry.order_key)
            continue
        mismatched.add(entry.order_key)
        _open(
            rt,
            MISMATCH_FLOW,
            entry.order_key,
            ReasonCode.ORDER_MISMATCH,
            f"{found.kind.value}: {found.detail}",
            now,
            open_now,
        )
    return checked, reads, mismatched, cleared


def _rotate(rt: Runtime, stage: Stage, old_enough: datetime, now: datetime, limit: int) -> list[LedgerEntry]:
    """The next `limit` orders at `stage` (entered before `old_enough`) after the rotation's position;
    back to the oldest once the end is reached, so every open order is read in turn."""
    feed = ROTATION + stage.value
    stored = rt.cursors.get(feed)
    position = stored if stored is not None and stored < old_enough else _EPOCH
    page = rt.ledger.entries_at(stage, entered_from=position, entered_before=old_enough, limit=limit)
    stamps = [datetime.fromisoformat(e.stage_at) for e in page if e.stage_at]
    # A short page reached the end: start from the oldest next time.
    following = max(stamps) + timedelta(milliseconds=1) if len(page) == limit and stamps else _EPOCH
    if following != stored:
        rt.cursors.move_to(feed, following, now)
    return page
