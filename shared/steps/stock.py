"""Stock sync: read the master, compute available-to-sell, push only what changed; reconcile drift.

Three triggers feed one queue (stock-sync) and one pusher: the schedule (a full read, rows shipped in
the message), master events (SKUs only: re-read, since webhook rows may be stale) and drift
corrections. The pusher is the only writer of the last-pushed figures, so deltas are exact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from shared.connectors.roles import Role
from shared.errors import EndpointUnavailableError, StepAsideError
from shared.flows.stock import (
    AcceptedOrder,
    AtsFigure,
    Delta,
    DeltaAction,
    DriftItem,
    available_to_sell,
    decide_delta,
    demand_by_sku,
    drift,
    in_flight_at,
    pushed_drift,
)
from shared.models import ReasonCode, owner_of
from shared.models.feed import Rejected, split
from shared.models.stock import StockPush, StockRow, StockSyncMessage
from shared.ports import ReservingStockTarget, StockChangeFeed, StockSource
from shared.runtime import Runtime
from shared.steps.polling import quarantine_unreadable
from shared.stores.ledger import AT_WAREHOUSE, LedgerEntry, Stage
from shared.topology import Priority

logger = Logger(child=True)

FLOW = "stock_sync"
DRIFT_FLOW = "stock_drift"
QUEUE = "stock-sync"
NO_STOCK_WRITES = (
    "the stock target accepts no stock writes (its platform settings name no stock write endpoint): "
    "stock is compared for drift only"
)
# The master's changed-since feed: its cursor, how far each read reaches back before it (a row stamped in the
# second the last read began, or by a warehouse clock a little behind ours), and the last full read.
FEED_CURSOR = "stock-feed"
FULL_READ_CURSOR = "stock-full-read"
# When the order poll last began reading a storefront source: every order placed before it is in the ledger.
ORDERS_SEEN_CURSOR = "stock-orders-seen"
FEED_OVERLAP_SECONDS = 120
# Orders the master has allocated at the warehouse's location that the warehouse has not received yet.
AWAITING_WAREHOUSE = frozenset({Stage.RELEASED, Stage.HELD, Stage.QUARANTINED})
# Orders a storefront accepted that the stock master has not taken yet (received: intake is deciding on it).
ON_THE_WAY = AWAITING_WAREHOUSE | {Stage.RECEIVED}


@dataclass
class PushOutcome:
    skus: int = 0
    figures: int = 0
    pushed: int = 0
    unchanged: int = 0
    awaiting_confirmation: int = 0
    rejected: int = 0
    target_calls: int = 0
    rejected_keys: list[str] = field(default_factory=list)
    skipped: str = ""


def read_stock(rt: Runtime) -> dict[str, Any]:
    """Scheduled read: every row of the master, a page of SKUs per message, in SKU order; or, where the
    master offers a changed-since feed, only the rows changed since the last read (in full on the first
    run and every `full_read_minutes`)."""
    if rt.config.pipelines.stock is None:
        return {"skipped": "this client has no stock pipeline"}
    settings = rt.config.stock
    if not rt.has_stock_target:
        return {"skipped": NO_STOCK_WRITES}
    now = rt.clock.now()
    master = rt.stock_master
    feed = _feed_of(rt, master)
    since = rt.cursors.get(FEED_CURSOR) if feed is not None else None
    last_full = rt.cursors.get(FULL_READ_CURSOR) if feed is not None else None
    full = (
        feed is None
        or since is None
        or last_full is None
        or (now - last_full).total_seconds() >= settings.full_read_minutes * 60
    )
    if full or feed is None or since is None:
        changed = list(master.stock_levels())
    else:
        try:
            changed = list(feed.stock_changed_since(since - timedelta(seconds=FEED_OVERLAP_SECONDS)))
        except EndpointUnavailableError as error:
            _endpoint_unavailable(rt, master.name, error, what="stock_feed")
            changed, full = list(master.stock_levels()), True
    by_sku: dict[str, list[StockRow]] = defaultdict(list)
    rows = 0
    rejected: list[Rejected] = []
    for row in changed:
        if isinstance(row, Rejected):
            rejected.append(row)
            continue
        by_sku[row.sku].append(row)
        rows += 1
    names: list[str] = []
    if not full:
        by_sku, names = _feed_work(rt, by_sku)
    skus = sorted(by_sku)
    size = settings.skus_per_message
    messages = [
        StockSyncMessage(
            client=rt.config.client,
            trigger="schedule",
            skus=chunk,
            rows=[row for sku in chunk for row in by_sku[sku]],
            read_at=now,
        )
        for chunk in (skus[i : i + size] for i in range(0, len(skus), size))
    ] + [
        StockSyncMessage(client=rt.config.client, trigger="schedule", skus=names[i : i + size], read_at=now)
        for i in range(0, len(names), size)
    ]
    rt.send_batch(QUEUE, messages)  # type: ignore[arg-type]
    unreadable = _quarantine_unreadable(rt, master.name, rejected)
    if feed is not None:
        rt.cursors.advance(FEED_CURSOR, now, now, previous=since)
        if full:
            rt.cursors.advance(FULL_READ_CURSOR, now, now, previous=last_full)
    rt.tally.update({"stock_reads": 1, "stock_skus_read": len(skus), "stock_rows_read": rows})
    logger.info(
        "stock read", extra={"skus": len(skus), "rows": rows, "messages": len(messages), "full": full, "reread": names}
    )
    return {
        "skus_read": len(skus),
        "rows_read": rows,
        "messages": len(messages),
        "unreadable": unreadable,
        "full": full,
        "reread": len(names),
    }


def _pending_key(rt: Runtime) -> str:
    """Whose SKUs await confirmation, named from config: the schedule must not build the target's connector
    (it holds none of its credentials)."""
    return f"{rt.config.settings_for(Role.STOCK_TARGET).type}-pending"


def _refused_key(target: str) -> str:
    """The SKU#location figures `target` refused and has not taken since (their exceptions are open)."""
    return f"{target}-refused"


def _feed_of(rt: Runtime, master: StockSource) -> StockChangeFeed | None:
    """The master's changed-since feed, unless it has none or an open exception says it is not served."""
    if not isinstance(master, StockChangeFeed) or not master.offers_stock_feed:
        return None
    if _open_endpoint_exception(rt, master.name, what="stock_feed") is not None:
        return None
    return master


def _feed_work(rt: Runtime, changed: dict[str, list[StockRow]]) -> tuple[dict[str, list[StockRow]], list[str]]:
    """What a feed read sends: rows where they are a SKU's whole figure, names the pusher re-reads otherwise.

    A feed lists a SKU's changed locations only. With one mapped location a row there is the SKU's whole
    figure (rows of unmapped locations change nothing sold); with several, the pusher re-reads the SKU,
    so a target location summing two is never set from half its rows. SKUs with an increase awaiting
    confirmation are re-read too: the feed does not list an unchanged SKU again.
    """
    settings = rt.config.stock
    mapped = {sku: [row for row in rows if row.location in settings.locations] for sku, rows in changed.items()}
    mapped = {sku: rows for sku, rows in mapped.items() if rows}
    pending = rt.stock_levels.pending_skus(_pending_key(rt))
    if len(settings.locations) == 1:
        return mapped, sorted(pending - set(mapped))
    return {}, sorted(set(mapped) | pending)


def _quarantine_unreadable(rt: Runtime, platform: str, rejected: list[Rejected]) -> int:
    """Rows the connector could not map are archived and quarantined, never silently dropped."""
    return quarantine_unreadable(
        rt,
        flow=FLOW,
        kind=f"{platform}-stock-unreadable",
        rows=rejected,
        replay_queue=QUEUE,
        replay=lambda row: _resync(rt, row),
    )


def _read(
    rt: Runtime,
    source: StockSource,
    skus: list[str] | None = None,
    location: str | None = None,
    fresh_after: datetime | None = None,
) -> list[StockRow]:
    """One read of a stock source: its rows, with the ones it could not map quarantined."""
    rows, rejected = split(source.stock_levels(skus, location=location, fresh_after=fresh_after))
    _quarantine_unreadable(rt, source.name, rejected)
    return rows


def _resync(rt: Runtime, row: object) -> StockSyncMessage | None:
    """Replay for an unreadable stock row: the pusher re-reads its SKU(s) from the master, if the row names any."""
    parts = row if isinstance(row, list) else [row]
    skus = sorted(
        {
            sku.strip()
            for part in parts
            if isinstance(part, dict)
            for name, sku in part.items()
            if name.casefold() == "sku" and isinstance(sku, str) and sku.strip()
        }
    )
    if not skus:
        return None
    return StockSyncMessage(client=rt.config.client, trigger="replay", skus=skus, read_at=rt.clock.now())


def enqueue_skus(rt: Runtime, skus: list[str], *, trigger: str) -> int:
    """SKUs named by an event or a correction: the pusher re-reads them from the master."""
    unique = sorted(set(skus))
    size = rt.config.stock.skus_per_message
    messages = [
        StockSyncMessage(client=rt.config.client, trigger=trigger, skus=unique[i : i + size], read_at=rt.clock.now())
        for i in range(0, len(unique), size)
    ]
    rt.send_batch(QUEUE, messages)  # type: ignore[arg-type]
    return len(messages)


def in_flight_demand(rt: Runtime, skus: list[str], snapshot_at: datetime | None = None) -> dict[str, Decimal]:
    """Orders accepted here that the stock master's figure read from `snapshot_at` does not net off, per SKU.

    When the order source is the stock master (Cin7 Core selling for itself), the master allocates an
    order before it can reach us, so its Available already nets it off and there is nothing in flight. A
    storefront source (SFCC: orders accepted before the master sees them) records its lines in the
    ledger; they count until the master holds them, and for a figure read before that, still then.
    """
    config = rt.config
    if not config.plays(Role.ORDER_SOURCE) or config.platform_for(Role.ORDER_SOURCE) == config.platform_for(
        Role.STOCK_MASTER
    ):
        return {}
    if isinstance(rt.stock_target, ReservingStockTarget):
        return {}  # the target nets its accepted orders off each write itself (shared/flows/reservations.py)
    return _ledger_in_flight(rt, skus, snapshot_at)


def _ledger_in_flight(rt: Runtime, skus: list[str], snapshot_at: datetime | None = None) -> dict[str, Decimal]:
    """The ledger's orders a master figure read from `snapshot_at` does not net off, for these SKUs."""
    wanted = set(skus)
    accepted = [order for entry in _placed(rt, snapshot_at) if (order := _accepted(entry)) is not None]
    return {sku: qty for sku, qty in in_flight_at(accepted, snapshot_at).items() if sku in wanted}


def _storefront_source(rt: Runtime) -> bool:
    """A source that takes orders before the stock master sees them (SFCC), for a client with stock."""
    config = rt.config
    return (
        config.pipelines.stock is not None
        and config.plays(Role.ORDER_SOURCE)
        and config.platform_for(Role.ORDER_SOURCE) != config.platform_for(Role.STOCK_MASTER)
    )


def record_orders_seen(rt: Runtime, began: datetime) -> None:
    """The order poll read the storefront from `began` to the end: orders placed before then are the
    ledger's (on their way, or at the master), orders placed since are neither the ledger's nor the master's."""
    if _storefront_source(rt):
        rt.cursors.advance(ORDERS_SEEN_CURSOR, began, began)


def counts_own_orders_from(rt: Runtime, observed_at: datetime) -> datetime:
    """From when a target that counts its own orders (SFCC's allocation reset_date) should count them for a
    figure read at `observed_at`: the read, or the last order poll if that began earlier.

    The figure nets off what the master held at the read and the ledger's orders on their way; an order
    the site took before the read that no poll has listed yet is in neither. Counted from the poll, the
    site's own turnover deducts it, and no order is deducted twice: every order placed before the poll
    began is the ledger's, every one placed after it is not.
    """
    seen = rt.cursors.get(ORDERS_SEEN_CURSOR) if _storefront_source(rt) else None
    return min(observed_at, seen) if seen is not None else observed_at


def _accepted(entry: LedgerEntry) -> AcceptedOrder | None:
    if entry.stage in ON_THE_WAY:
        return AcceptedOrder(entry.ordered, None)
    submitted = entry.timestamps.get(Stage.SUBMITTED.value)
    if entry.stage in AT_WAREHOUSE and submitted:
        return AcceptedOrder(entry.ordered, datetime.fromisoformat(submitted))
    return None  # not placed, skipped, cancelled: it takes nothing from stock


def _placed(rt: Runtime, snapshot_at: datetime | None) -> list[LedgerEntry]:
    """Orders on their way to the master, and those it took after `snapshot_at` (any that entered their
    stage since then: an order submitted later entered its stage later still), from the by-stage index,
    so a stock run never scans the ledger."""
    entries = [entry for stage in sorted(ON_THE_WAY) for entry in rt.ledger.entries_at(stage)]
    if snapshot_at is not None:
        entries += [
            entry for stage in sorted(AT_WAREHOUSE) for entry in rt.ledger.entries_at(stage, entered_from=snapshot_at)
        ]
    return entries


def _awaiting_warehouse(rt: Runtime) -> list[LedgerEntry]:
    """Orders at a stage before the warehouse has them, from the by-stage index: one query per stage, so a
    stock run reads the open orders only, never the whole ledger."""
    return [entry for stage in sorted(AWAITING_WAREHOUSE) for entry in rt.ledger.entries_at(stage)]


def _record_pushed(
    rt: Runtime, target: str, message: StockSyncMessage, accepted: list[tuple[AtsFigure, Delta]], now: datetime
) -> None:
    """The figures the target took, as the last pushed, each with its explanation."""
    if not accepted:
        return
    rt.stock_levels.record(
        target,
        [
            {
                "sku": f.sku,
                "location": f.location,
                "quantity": d.quantity,
                "pending_increase": d.pending_increase,
                "pending_since": d.pending_since,
                "trigger": message.trigger,
                "explanation": f.explanation
                if d.quantity == f.quantity
                else f"{f.explanation}; confirmed {d.quantity}",
            }
            for f, d in accepted
        ],
        now=now,
    )


def push_stock(message: StockSyncMessage, rt: Runtime) -> PushOutcome:
    """Compute ATS for the message's SKUs, compare with what the target was last told, push changes."""
    outcome = PushOutcome(skus=len(message.skus))
    if rt.config.pipelines.stock is None:
        return outcome
    settings = rt.config.stock
    target = rt.stock_target
    if target is None:
        outcome.skipped = NO_STOCK_WRITES
        return outcome
    unavailable = _open_endpoint_exception(rt, target.name, what="stock_write")
    if unavailable is not None:
        # One exception already says the endpoint is missing: no call until operations resolve it.
        outcome.skipped = f"{target.name} stock writes paused: exception {unavailable} is open"
        return outcome
    wanted = set(message.skus)
    if message.rows is not None:
        rows, observed_at = message.rows, message.read_at
    else:
        # A read begun after the event will do: events that came before one read are all served by it.
        locations = sorted(settings.locations)
        rows = _read(
            rt,
            rt.stock_master,
            message.skus,
            location=locations[0] if len(locations) == 1 else None,
            fresh_after=message.read_at,
        )
        observed_at = min((row.read_at for row in rows if row.read_at is not None), default=rt.clock.now())
    rows = [row for row in rows if row.sku in wanted]
    target_locations = sorted(set(settings.locations.values()))
    # The last pushed figures, the drift caps and the figures the target refused before: one read.
    view = rt.stock_levels.push_view(
        target.name,
        [(sku, loc) for sku in message.skus for loc in target_locations],
        caps_of=message.skus,
        pending_of=_refused_key(target.name),
    )
    states, caps = view.states, view.caps
    figures = {
        (f.sku, f.location): f
        for f in available_to_sell(rows, settings, in_flight=in_flight_demand(rt, message.skus, observed_at), caps=caps)
    }
    for key in states:
        if key not in figures:  # the master no longer reports it at a mapped location: nothing to sell
            figures[key] = AtsFigure(key[0], key[1], 0, "no stock reported at any mapped location -> 0")
    outcome.figures = len(figures)
    now = rt.clock.now()
    to_push: list[tuple[AtsFigure, Delta]] = []
    waiting: list[dict[str, Any]] = []
    forgotten: list[tuple[str, str]] = []
    for key, figure in sorted(figures.items()):
        state = states.get(key)
        delta = decide_delta(
            figure.quantity,
            state,
            confirm_increases=settings.confirm_increases,
            observed_at=observed_at,
            confirm_after_seconds=settings.confirm_after_seconds,
            force=message.force,
        )
        if delta.action == DeltaAction.PUSH:
            to_push.append((figure, delta))
        elif delta.action == DeltaAction.AWAIT_CONFIRMATION:
            outcome.awaiting_confirmation += 1
            waiting.append(
                {
                    "sku": figure.sku,
                    "location": figure.location,
                    "pending_increase": delta.pending_increase,
                    "pending_since": delta.pending_since,
                    "explanation": figure.explanation,
                }
            )
        else:
            outcome.unchanged += 1
            if state is not None and state.pending_increase is not None:
                forgotten.append(key)
    rt.stock_levels.await_confirmation(target.name, waiting, now=now)
    rt.stock_levels.clear_pending(target.name, forgotten, now=now)
    awaiting = {row["sku"] for row in waiting} | {f.sku for f, d in to_push if d.pending_increase is not None}
    had = {sku for (sku, _), state in states.items() if state.pending_increase is not None}
    if awaiting or had - awaiting:
        rt.stock_levels.mark_pending(_pending_key(rt), add=awaiting, remove=had, now=now)
    batch_size = min(settings.push_batch_size, target.push_batch_size)
    counts_from = counts_own_orders_from(rt, observed_at) if to_push else observed_at
    refused_before = view.pending  # figures the target refused before (a product it did not hold yet)
    # A lower figure keeps the target from selling what the master no longer has: it is order work, so it
    # goes first and at order priority (it never steps aside while the target sheds load); the rest after.
    lower = [(f, d) for f, d in to_push if (last := states.get((f.sku, f.location))) and d.quantity < last.quantity]
    rest = [pair for pair in to_push if pair not in lower]
    batches: list[tuple[list[tuple[AtsFigure, Delta]], Priority]]
    batches = [(lower[i : i + batch_size], "orders") for i in range(0, len(lower), batch_size)]
    batches += [(rest[i : i + batch_size], rt.priority) for i in range(0, len(rest), batch_size)]
    for batch, priority in batches:
        try:
            with rt.prioritised(priority):
                rejected = target.push_stock(
                    [
                        StockPush(sku=f.sku, location=f.location, quantity=d.quantity, snapshot_at=counts_from)
                        for f, d in batch
                    ]
                )
        except StepAsideError as aside:
            # Giving way to order work mid-batch: the figures written are recorded, the rest go later.
            written = {(p.sku, p.location) for p in aside.applied if isinstance(p, StockPush)}
            _record_pushed(rt, target.name, message, [(f, d) for f, d in batch if (f.sku, f.location) in written], now)
            rt.tally.update(
                {"stock_pushed": outcome.pushed + len(written), "stock_target_calls": outcome.target_calls + 1}
            )
            raise
        except EndpointUnavailableError as error:
            outcome.target_calls += 1
            _endpoint_unavailable(rt, target.name, error)
            outcome.skipped = error.detail
            break
        outcome.target_calls += 1
        refused = {(r.sku, r.location): r for r in rejected}
        accepted = [(f, d) for f, d in batch if (f.sku, f.location) not in refused]
        _record_pushed(rt, target.name, message, accepted, now)
        outcome.pushed += len(accepted)
        # A figure the target takes now closes the exception its earlier refusal opened.
        cleared = {f"{f.sku}#{f.location}" for f, _ in accepted} & refused_before
        for figure_key in sorted(cleared):
            rt.exceptions.resolve(FLOW, f"sku#{figure_key}", by="push_stock", now=now)
        newly = {f"{sku}#{location}" for sku, location in refused} - refused_before
        if cleared or newly:
            rt.stock_levels.mark_pending(_refused_key(target.name), add=newly, remove=cleared, now=now)
            refused_before = (refused_before - cleared) | newly
        for (sku, location), rejection in refused.items():
            outcome.rejected += 1
            business_key = f"sku#{sku}#{location}"
            outcome.rejected_keys.append(business_key)
            figure, delta = next((f, d) for f, d in batch if (f.sku, f.location) == (sku, location))
            payload_key = rt.archive.put(
                order_key=None,
                kind="stock-push-rejected",
                now=now,
                body={
                    "target": target.name,
                    "sku": sku,
                    "location": location,
                    "quantity": delta.quantity,
                    "explanation": figure.explanation,
                    "refusal": rejection.message,
                    "trigger": message.trigger,
                },
            )
            rt.exceptions.quarantine(
                flow=FLOW,
                business_key=business_key,
                reasons=[ReasonCode.STOCK_PUSH_REJECTED],
                team=owner_of(ReasonCode.STOCK_PUSH_REJECTED),
                now=now,
                payload_key=payload_key,
                detail=f"{target.name} refused {sku} at {location}: {rejection.message}",
                replay_queue=QUEUE,
                replay_message=StockSyncMessage(
                    client=rt.config.client, trigger="replay", skus=[sku], read_at=now
                ).model_dump(mode="json"),
            )
    rt.tally.update(
        {
            "stock_messages": 1,
            "stock_figures": outcome.figures,
            "stock_pushed": outcome.pushed,
            "stock_unchanged": outcome.unchanged,
            "stock_awaiting_confirmation": outcome.awaiting_confirmation,
            "stock_rejected": outcome.rejected,
            "stock_target_calls": outcome.target_calls,
        }
    )
    if outcome.pushed or outcome.rejected:
        logger.info(
            "stock pushed",
            extra={
                "trigger": message.trigger,
                "skus": outcome.skus,
                "pushed": outcome.pushed,
                "unchanged": outcome.unchanged,
                "rejected": outcome.rejected,
                "awaiting_confirmation": outcome.awaiting_confirmation,
            },
        )
    return outcome


def _endpoint_business_key(target: str, what: str = "stock_write") -> str:
    return f"endpoint#{target}#{what}"


def _open_endpoint_exception(rt: Runtime, target: str, *, what: str) -> str | None:
    exception_id = rt.exceptions.exception_id(
        FLOW, _endpoint_business_key(target, what), ReasonCode.ENDPOINT_UNAVAILABLE
    )
    record = rt.exceptions.get(exception_id)
    return exception_id if record is not None and record.status.value == "open" else None


def _endpoint_unavailable(
    rt: Runtime, target: str, error: EndpointUnavailableError, *, what: str = "stock_write"
) -> None:
    """One exception for operations, whatever number of messages meet the missing endpoint; nothing is retried.
    A missing write: the figures are not recorded as pushed, so they go out once the endpoint is fixed and the
    exception resolved. A missing feed: the schedule reads in full until then."""
    exception_id = rt.exceptions.quarantine(
        flow=FLOW,
        business_key=_endpoint_business_key(target, what),
        reasons=[ReasonCode.ENDPOINT_UNAVAILABLE],
        team=owner_of(ReasonCode.ENDPOINT_UNAVAILABLE),
        detail=error.detail,
        now=rt.clock.now(),
    )
    rt.tally.update({"stock_endpoint_unavailable": 1})
    logger.error(
        "stock write endpoint unavailable",
        extra={"exception_id": exception_id, "detail": error.detail, "config_field": error.config_field},
    )


def _reader_is_the_warehouse(rt: Runtime) -> bool:
    """Whether the other side's rows are the physical stock of the warehouse orders go to (Scend behind Cin7
    Core). Any other reader (a storefront's entries) holds only the figures the push wrote there."""
    config = rt.config
    return config.plays(Role.ORDER_TARGET) and config.platform_for(Role.ORDER_TARGET) == config.platform_for(
        Role.STOCK_READER
    )


def _pushed_drift(
    rt: Runtime, master_rows: list[StockRow], target_rows: list[StockRow], target_name: str, location: str
) -> list[DriftItem]:
    """`pushed_drift` with what the push itself passes: its in-flight demand and caps, and for a target that
    nets its accepted orders off each write, those orders. The ledger's orders not yet at the master stand in
    for them first; a SKU that still differs is asked of the target, as the push asks (one query a SKU)."""
    settings = rt.config.stock
    skus = sorted({row.sku for row in master_rows} | {row.sku for row in target_rows})
    in_flight = in_flight_demand(rt, skus)
    caps = rt.stock_levels.caps(target_name, skus)
    threshold = settings.drift_threshold_units
    target = rt.stock_target

    def drift(pending: dict[str, int] | None = None) -> list[DriftItem]:
        return pushed_drift(
            master_rows,
            target_rows,
            settings,
            location=location,
            threshold=threshold,
            in_flight=in_flight,
            caps=caps,
            pending=pending,
        )

    if not isinstance(target, ReservingStockTarget):
        return drift()
    pending = {sku: int(units) for sku, units in _ledger_in_flight(rt, skus).items()}
    items = drift(pending)
    if not items:
        return items
    pending |= {item.sku: target.pending_units(item.sku, location) for item in items}
    return drift(pending)


def reconcile_stock(rt: Runtime) -> dict[str, Any]:
    """The master's figures against the other side's at the warehouse's location: a dated report.

    Against a warehouse (Cin7 Core's Available at the Scend location against Scend's own levels) it is
    the master's Available against the warehouse's sellable. When the master is the warehouse and the
    other side holds only what the push wrote (Scend for commercetools), it is the figure the push writes
    against the one the target holds, so units held back from sale on purpose are never drift.
    SKUs drifting beyond the threshold become exceptions (and resolve when back in line). With
    `correct_drift`, a SKU the warehouse holds less of is capped at the warehouse's figure and re-pushed
    (against a warehouse only: a master that is the warehouse is what the push writes already).
    """
    if rt.config.pipelines.stock is None or rt.config.stock.drift_location is None:
        return {"skipped": "stock reconcile is not configured for this client"}
    settings = rt.config.stock
    now = rt.clock.now()
    target_name = rt.stock_target.name if rt.stock_target is not None else rt.stock_reader.name
    location = settings.locations[rt.config.stock.drift_location or ""]
    against_warehouse = _reader_is_the_warehouse(rt)
    if against_warehouse:
        master_rows = _read(rt, rt.stock_master, location=settings.drift_location)
        warehouse_rows = _read(rt, rt.stock_reader)
        # A sale voided at the source gave its allocation back there: it no longer awaits the warehouse.
        awaiting = demand_by_sku(
            entry.ordered
            for entry in _awaiting_warehouse(rt)
            if entry.location == settings.drift_location and entry.cancel_requested_at is None
        )
        items = drift(
            master_rows, warehouse_rows, awaiting_warehouse=awaiting, threshold=settings.drift_threshold_units
        )
    else:
        master_rows = _read(rt, rt.stock_master)
        warehouse_rows = _read(rt, rt.stock_reader, location=location)
        items = _pushed_drift(rt, master_rows, warehouse_rows, target_name, location)
    flagged = [item for item in items if item.flagged]
    last = rt.stock_levels.states(target_name, [(item.sku, location) for item in items])
    report = {
        "client": rt.config.client,
        "generated_at": now.isoformat(),
        "master": rt.stock_master.name,
        "master_location": settings.drift_location,
        "warehouse": rt.stock_reader.name,
        "threshold_units": settings.drift_threshold_units,
        "compared": "master available, warehouse sellable" if against_warehouse else "pushed figure, target available",
        "skus_compared": len({r.sku for r in master_rows} | {r.sku for r in warehouse_rows}),
        "drifting": [
            {
                "sku": i.sku,
                "master": str(i.master),
                "warehouse": str(i.warehouse),
                "difference": str(i.difference),
                "flagged": i.flagged,
                "last_push": (last[(i.sku, location)].quantity if (i.sku, location) in last else None),
            }
            for i in items
        ],
    }
    report_key = rt.archive.put_report(kind="stock-drift", body=report, now=now)
    flagged_keys = set()
    for item in flagged:
        business_key = f"sku#{item.sku}"
        flagged_keys.add(business_key)
        pushed = last.get((item.sku, location))
        rt.exceptions.quarantine(
            flow=DRIFT_FLOW,
            business_key=business_key,
            reasons=[ReasonCode.STOCK_DRIFT],
            team=owner_of(ReasonCode.STOCK_DRIFT),
            now=now,
            payload_key=report_key,
            detail=(
                (
                    f"{rt.stock_master.name} Available at {settings.drift_location}: {item.master}; "
                    f"{rt.stock_reader.name} sellable less orders not yet there: {item.warehouse}"
                    if against_warehouse
                    else f"{rt.stock_master.name} sellable at {location} as the push writes it: {item.master}; "
                    f"{rt.stock_reader.name} Available there: {item.warehouse}"
                )
                + f"; difference {item.difference}; last pushed {pushed.quantity if pushed else 'never'}"
            ),
            replay_queue=QUEUE,
            replay_message=StockSyncMessage(
                client=rt.config.client,
                trigger="replay",
                skus=[item.sku],
                read_at=now,
                force=True,
            ).model_dump(mode="json"),
        )
    resolved = 0
    for record in rt.exceptions.list():
        if record.flow == DRIFT_FLOW and record.business_key not in flagged_keys:
            resolved += rt.exceptions.resolve(DRIFT_FLOW, record.business_key, by="reconcile_stock", now=now)
    corrected = 0
    if settings.correct_drift and against_warehouse and rt.stock_target is not None:
        short = {i.sku: int(max(Decimal(0), i.warehouse)) for i in flagged if i.difference < 0}
        existing = rt.stock_levels.caps(target_name)
        lifted = [sku for sku in existing if sku not in short]
        if short != existing:
            rt.stock_levels.replace_caps(target_name, short, reason=f"drift report {report_key}", now=now)
        if short or lifted:
            enqueue_skus(rt, [*short, *lifted], trigger="reconcile")
        corrected = len(short)
    rt.tally.update({"stock_reconciles": 1})
    rt.tally["stock_drift_skus_last"] = len(items)
    rt.tally["stock_drift_flagged_last"] = len(flagged)
    logger.info(
        "stock reconciled",
        extra={
            "drifting": len(items),
            "flagged": len(flagged),
            "report": report_key,
            "corrected": corrected,
            "resolved": resolved,
        },
    )
    return {
        "skus_compared": report["skus_compared"],
        "drift_skus": len(items),
        "flagged": len(flagged),
        "corrected": corrected,
        "resolved": resolved,
        "report_key": report_key,
    }
