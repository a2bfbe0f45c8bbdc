"""Safety-net poll: every authorised sale changed since the cursor goes to intake, which dedupes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from aws_lambda_powertools import Logger

from shared.connectors.roles import Role
from shared.models.base import Model
from shared.models.messages import CancelRequest, IntakeMessage
from shared.ports import ChangeKind, CombinedChangeFeed, OrderChange, SourceChange
from shared.runtime import Runtime
from shared.steps.polling import T, poll_feed, poll_routed
from shared.steps.stock import record_orders_seen

logger = Logger(child=True)


def poll_sales(rt: Runtime) -> dict[str, int | str]:
    """Authorised sales changed since the cursor go to intake, which dedupes against the ledger; voided
    ones go to cancellation, where a repeat starts no second execution. A source that lists both in one
    read (CombinedChangeFeed) is read once."""
    config = rt.config
    combined = rt.order_source if config.pipelines.cancellation is not None else None
    if isinstance(combined, CombinedChangeFeed) and config.platform_for(Role.ORDER_SOURCE) == config.platform_for(
        Role.CANCEL_SOURCE
    ):
        return _poll_combined(rt, combined)
    # Cursors are named by the source's type ("cin7_core.sales"), so a second source never shares one.
    began = rt.clock.now()
    settled = _Settled(rt)
    counts, window = poll_routed(
        rt,
        feed=f"{rt.order_source.name}.sales",
        overlap_minutes=rt.config.orders.poll_overlap_minutes,
        first_lookback=timedelta(days=1),
        read=lambda since: settled.read(rt.order_source.orders_changed_since(since)),
        stamp=lambda change: change.updated_at,
        route=lambda change: None if change in settled else ("order-intake", _intake(rt, change)),
        unreadable_queue="order-intake",
    )
    result: dict[str, int | str] = {"enqueued": counts.get("order-intake", 0), **window, "settled": len(settled.keys)}
    record_orders_seen(rt, began)  # the stock flow counts from here what the ledger does not hold yet
    if rt.config.pipelines.cancellation is None:  # no cancellation pipeline: voids are not this stack's to act on
        logger.info("poll done", extra=result)
        return result
    voided_at = f"voided at {rt.config.spec(rt.config.platform_for(Role.CANCEL_SOURCE)).title}"
    voided = poll_feed(
        rt,
        feed=f"{rt.cancel_source.name}.voided_sales",
        overlap_minutes=rt.config.orders.poll_overlap_minutes,
        first_lookback=timedelta(days=1),
        read=rt.cancel_source.cancelled_since,
        stamp=lambda change: change.updated_at,
        queue="cancel-requests",
        to_message=lambda change: _cancel(rt, change, voided_at),
    )
    result["cancels_enqueued"] = voided["enqueued"]
    logger.info("poll done", extra=result)
    return result


def _poll_combined(rt: Runtime, source: CombinedChangeFeed) -> dict[str, int | str]:
    """One listing, one cursor: ready sales to intake, voided ones to cancellation, the rest skipped."""
    voided_at = f"voided at {rt.config.spec(rt.config.platform_for(Role.CANCEL_SOURCE)).title}"
    settled = _Settled(rt)

    def route(row: SourceChange) -> tuple[str, Model] | None:
        if row.kind == ChangeKind.READY:
            return None if row.change in settled else ("order-intake", _intake(rt, row.change))
        if row.kind == ChangeKind.CANCELLED:
            return "cancel-requests", _cancel(rt, row.change, voided_at)
        return None

    counts, window = poll_routed(
        rt,
        feed=f"{rt.order_source.name}.sale_changes",
        overlap_minutes=rt.config.orders.poll_overlap_minutes,
        first_lookback=timedelta(days=1),
        read=lambda since: settled.read(source.changes_since(since)),
        stamp=lambda row: row.change.updated_at,
        route=route,
        unreadable_queue="order-intake",
    )
    result: dict[str, int | str] = {
        "enqueued": counts.get("order-intake", 0),
        **window,
        "cancels_enqueued": counts.get("cancel-requests", 0),
        "settled": len(settled.keys),
    }
    logger.info("poll done", extra=result)
    return result


class _Settled:
    """Order keys a poll's listing need not send to intake, found with one ledger read per 100 rows.

    Most rows of a changed-since listing are orders intake has already dealt with (the overlap window, sales
    still listed as ready while the warehouse holds them): sent on, each cost an intake invocation and a
    ledger write only to be suppressed there. A source that keeps an export status (SFCC) is sent every
    row, since intake claims each listed order at the source."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.keys: set[str] = set()

    def read(self, rows: Iterable[T]) -> list[T]:
        """The listing, kept whole (every row still moves the cursor), with the settled orders noted."""
        listed = list(rows)
        if self.rt.export_claim is not None:
            return listed
        changes = {_intake(self.rt, c).order_key: c for c in map(_ready_change, listed) if c is not None}
        entries = self.rt.ledger.get_many(changes)
        self.keys = {
            key for key, entry in entries.items() if entry.poll_listing_changes_nothing(changes[key].updated_at)
        }
        return listed

    def __contains__(self, change: OrderChange) -> bool:
        return _intake(self.rt, change).order_key in self.keys


def _ready_change(row: object) -> OrderChange | None:
    if isinstance(row, SourceChange):
        return row.change if row.kind == ChangeKind.READY else None
    return row if isinstance(row, OrderChange) else None


def _intake(rt: Runtime, change: OrderChange) -> IntakeMessage:
    return IntakeMessage(
        client=rt.config.client,
        source=rt.order_source.name,
        source_id=change.source_id,
        order_number=change.order_number,
        trigger="poll",
        event_type=f"poll:{change.status}",
        source_updated_at=change.updated_at,
    )


def _cancel(rt: Runtime, change: OrderChange, reason: str) -> CancelRequest:
    return CancelRequest(
        client=rt.config.client,
        source=rt.order_source.name,
        source_id=change.source_id,
        order_number=change.order_number,
        requested_at=change.updated_at,
        reason=reason,
        trigger="poll",
        event_type=f"poll:{change.status}",
    )
