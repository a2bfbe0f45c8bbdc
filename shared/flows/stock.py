"""Available-to-sell, deltas and drift: pure functions, no I/O.

Overselling comes from syncing the wrong number or syncing it late. The wrong number: On Hand instead
of Available, stock at a location the warehouse does not hold, quarantined or damaged units, orders
accepted but not yet committed at the master. Late: a figure that rises on a transient spike and is
sold before the next read corrects it. Every figure carries its explanation, stored with the push.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.flows.reservations import net_figure
from shared.models.stock import StockRow

if TYPE_CHECKING:
    from shared.config import StockBuffer, StockPipeline


@dataclass(frozen=True)
class AtsFigure:
    """What may be sold of one SKU at one target location, and why."""

    sku: str
    location: str
    quantity: int
    explanation: str


def _units(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


def sellable(row: StockRow) -> Decimal:
    """The master's Available less what it reports as reserved, quarantined or damaged, never below zero.

    Per row, so an oversold location (negative Available) cannot eat another location's real stock.
    """
    return max(Decimal(0), row.available - row.reserved - row.quarantined - row.damaged)


def buffer_units(total: Decimal, buffer: StockBuffer) -> int:
    return buffer.units + (math.ceil(total * Decimal(str(buffer.percent)) / 100) if buffer.percent else 0)


def available_to_sell(
    rows: Iterable[StockRow],
    config: StockPipeline,
    *,
    in_flight: Mapping[str, Decimal] | None = None,
    caps: Mapping[str, int] | None = None,
) -> list[AtsFigure]:
    """ATS per (SKU, target location) from the master's rows.

    Included locations are summed into the target location they map to; unmapped locations are excluded.
    `in_flight` is demand the master has not yet committed (accepted orders it has not allocated), per
    SKU; `caps` is a ceiling per SKU the warehouse can honour (drift correction). Only target locations
    that appear in the rows get a figure, so a SKU held only at excluded locations is never pushed.
    """
    in_flight = in_flight or {}
    caps = caps or {}
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    parts: dict[tuple[str, str], list[str]] = defaultdict(list)
    excluded: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        target = config.locations.get(row.location)
        if target is None:
            excluded[row.sku].append(f"{row.location} excluded ({_units(row.available)})")
            continue
        key = (row.sku, target)
        figure = sellable(row)
        totals[key] += figure
        deductions = [
            f"{name} {_units(value)}"
            for name, value in (("reserved", row.reserved), ("quarantined", row.quarantined), ("damaged", row.damaged))
            if value
        ]
        text = f"{row.location} available {_units(row.available)}"
        if deductions:
            text += " - " + " - ".join(deductions)
        parts[key].append(text)
    figures: list[AtsFigure] = []
    for (sku, target), total in sorted(totals.items()):
        buffer = config.sku_buffers.get(sku, config.buffer)
        held_back = buffer_units(total, buffer)
        demand = in_flight.get(sku, Decimal(0))
        quantity = max(Decimal(0), total - held_back - demand).to_integral_value(rounding=ROUND_FLOOR)
        steps = parts[(sku, target)] + excluded.get(sku, [])
        if held_back:
            steps.append(f"buffer {held_back}" + (" (SKU override)" if sku in config.sku_buffers else ""))
        if demand:
            steps.append(f"in flight {_units(demand)}")
        cap = caps.get(sku)
        if cap is not None and cap < quantity:
            quantity = Decimal(max(0, cap))
            steps.append(f"capped at the warehouse's {cap}")
        figures.append(AtsFigure(sku, target, int(quantity), "; ".join(steps) + f" -> {int(quantity)}"))
    return figures


class DeltaAction(StrEnum):
    PUSH = "push"
    UNCHANGED = "unchanged"
    AWAIT_CONFIRMATION = "await_confirmation"


@dataclass(frozen=True)
class PushedState:
    """What the target was last told for one (SKU, location), and an increase seen but not yet pushed."""

    quantity: int
    pending_increase: int | None = None
    pending_since: datetime | None = None  # when the master first showed the pending increase


@dataclass(frozen=True)
class Delta:
    action: DeltaAction
    quantity: int  # the figure to push (PUSH) or the last pushed figure (otherwise)
    pending_increase: int | None = None  # what to remember for the next read
    pending_since: datetime | None = None


def decide_delta(
    new: int,
    last: PushedState | None,
    *,
    confirm_increases: bool,
    observed_at: datetime,
    confirm_after_seconds: float = 0,
    force: bool = False,
) -> Delta:
    """Decreases go at once; an increase goes only once a later read, at least `confirm_after_seconds`
    after the first, still shows it, and then the lower of the figures seen in between.

    `observed_at` is when the master was read, not when the message was processed: a redelivered
    message or a repeated webhook carries the same reading and can never confirm itself, so a spike
    keyed in error and reversed minutes later is never sold.
    """
    if last is None or force:
        return Delta(DeltaAction.PUSH, new)
    if new <= last.quantity:
        return Delta(DeltaAction.UNCHANGED if new == last.quantity else DeltaAction.PUSH, new)
    if not confirm_increases:
        return Delta(DeltaAction.PUSH, new)
    if last.pending_increase is None or last.pending_since is None:
        return Delta(DeltaAction.AWAIT_CONFIRMATION, last.quantity, pending_increase=new, pending_since=observed_at)
    seen_throughout = min(new, last.pending_increase)
    if seen_throughout <= last.quantity:  # what was pending no longer stands above the last push
        return Delta(DeltaAction.AWAIT_CONFIRMATION, last.quantity, pending_increase=new, pending_since=observed_at)
    if (observed_at - last.pending_since).total_seconds() < confirm_after_seconds:
        return Delta(
            DeltaAction.AWAIT_CONFIRMATION,
            last.quantity,
            pending_increase=seen_throughout,
            pending_since=last.pending_since,
        )
    if new > seen_throughout:  # part confirmed; the rest starts its own wait now
        return Delta(DeltaAction.PUSH, seen_throughout, pending_increase=new, pending_since=observed_at)
    return Delta(DeltaAction.PUSH, seen_throughout)


@dataclass(frozen=True)
class DriftItem:
    sku: str
    master: Decimal  # the master's side: its Available, or what the push writes when it is the warehouse
    warehouse: Decimal  # the other side: the warehouse's sellable less what it has not received, or the target's
    difference: Decimal  # warehouse - master: negative means the master promises stock the warehouse lacks
    flagged: bool


def drift(
    master_rows: Iterable[StockRow],
    warehouse_rows: Iterable[StockRow],
    *,
    awaiting_warehouse: Mapping[str, Decimal],
    threshold: int,
) -> list[DriftItem]:
    """Per SKU, the master's view of the warehouse location against the warehouse's own figures.

    The master's Available already nets off orders it allocated that the warehouse has not received
    yet (released, held or quarantined here); the warehouse's Level does not, so those units are taken
    off the warehouse side before comparing. Only SKUs that differ are returned.
    """
    master: dict[str, Decimal] = defaultdict(Decimal)
    for row in master_rows:
        master[row.sku] += row.available
    warehouse: dict[str, Decimal] = defaultdict(Decimal)
    for row in warehouse_rows:
        warehouse[row.sku] += sellable(row)
    for sku, units in awaiting_warehouse.items():
        if sku in master or sku in warehouse:
            warehouse[sku] -= units
    return _differences(master, warehouse, threshold)


def pushed_drift(
    master_rows: Iterable[StockRow],
    target_rows: Iterable[StockRow],
    config: StockPipeline,
    *,
    location: str,
    threshold: int,
    in_flight: Mapping[str, Decimal] | None = None,
    caps: Mapping[str, int] | None = None,
    pending: Mapping[str, int] | None = None,
) -> list[DriftItem]:
    """Per SKU at one target location, what the push writes from the master's rows against what the target
    holds there: for a master that is the warehouse itself (Scend for a storefront), whose raw free figure
    still counts quarantined and damaged units and knows nothing of buffers.

    The master's figure is the pusher's own: `available_to_sell` with the `in_flight` and `caps` it passes,
    then `net_figure` with the `pending` units a target that nets its accepted orders itself takes off the
    write. The target's figure is its Available at `location`. Only SKUs that differ are returned.
    """
    pending = pending or {}
    pushed = {
        figure.sku: Decimal(net_figure(figure.quantity, pending.get(figure.sku, 0)))
        for figure in available_to_sell(master_rows, config, in_flight=in_flight, caps=caps)
        if figure.location == location
    }
    held: dict[str, Decimal] = defaultdict(Decimal)
    for row in target_rows:
        if row.location == location:
            held[row.sku] += row.available
    return _differences(pushed, held, threshold)


def _differences(master: Mapping[str, Decimal], other: Mapping[str, Decimal], threshold: int) -> list[DriftItem]:
    """The SKUs whose two figures differ (a SKU one side lacks counts as 0 there), flagged beyond `threshold`."""
    items = []
    for sku in sorted(set(master) | set(other)):
        ours, theirs = master.get(sku, Decimal(0)), other.get(sku, Decimal(0))
        difference = theirs - ours
        if difference:
            items.append(DriftItem(sku, ours, theirs, difference, abs(difference) > threshold))
    return items


@dataclass(frozen=True)
class AcceptedOrder:
    """An order accepted here (a storefront's), as far as the stock master's figures are concerned."""

    ordered: Mapping[str, Decimal]
    reached_master_at: datetime | None  # when the master took (allocated) it; None while it is on its way


def in_flight_at(orders: Iterable[AcceptedOrder], snapshot_at: datetime | None) -> dict[str, Decimal]:
    """Units a master figure read from `snapshot_at` does not net off yet, per SKU.

    An order still on its way counts; so does one that reached the master after the read began, because
    the figure predates it (the push may go out minutes after the read). One that reached the master
    before counts no more: the figure already holds it back. Without a snapshot time only the orders
    still on their way count.
    """
    open_orders = (
        order.ordered
        for order in orders
        if order.reached_master_at is None or (snapshot_at is not None and order.reached_master_at > snapshot_at)
    )
    return demand_by_sku(open_orders)


def demand_by_sku(orders: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """Sum ordered quantities per SKU over a set of orders' lines."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    for lines in orders:
        for sku, quantity in lines.items():
            total[sku] += Decimal(quantity)
    return dict(total)
