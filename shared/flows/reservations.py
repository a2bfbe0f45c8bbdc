"""Reservation-aware stock figures: what a storefront that decrements its own stock may be set to.

A storefront that reserves or tracks stock itself (commercetools `inventoryMode` ReserveOnOrder or
TrackOnly) takes units off an entry the moment it accepts an order. The warehouse's free figure still
counts those units until the order reaches it and is allocated there. Writing that free figure as an
absolute would hand the accepted units back to the shop (re-inflation) and oversell; so the units of
orders accepted but not yet at the warehouse are taken off first. Pure: the caller reads both figures,
the entry first and the orders after, so an order accepted in between is counted (an under-statement
for one cycle) rather than missed; an order accepted after the orders read changes the entry's version,
and the conflicting write is decided again from fresh reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AcceptedLine:
    """One order line the storefront accepted, as far as stock is concerned."""

    sku: str
    quantity: int
    location: str | None  # the warehouse location the line draws on; None when the line names none
    at_warehouse: bool  # the warehouse holds the order (it has allocated, or will allocate, from its own figure)
    cancelled: bool


def pending_units(lines: Iterable[AcceptedLine], sku: str, location: str, *, sole_location: bool) -> int:
    """Units of `sku` the storefront accepted for `location` that the warehouse has not allocated yet.

    A line that names no location draws on `location` only when it is the storefront's sole one:
    otherwise nobody can tell which entry the storefront decremented, and it is not counted anywhere.
    """
    total = 0
    for line in lines:
        if line.sku != sku or line.cancelled or line.at_warehouse or line.quantity <= 0:
            continue
        if line.location == location or (line.location is None and sole_location):
            total += line.quantity
    return total


def net_figure(warehouse_free: int, pending: int) -> int:
    """The absolute figure to write: the warehouse's free units less what the storefront already holds back."""
    return max(0, warehouse_free - max(0, pending))
