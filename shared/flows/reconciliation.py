"""Daily order reconciliation: what the warehouse despatched against the deliveries the storefront holds,
and the warehouse's order states against the storefront's (the seed's "periodic reconciliation of
warehouse dispatches against storefront records").

Pure: one order's two sides come in, its gaps come out, each with a kind an operator can search for. A
despatch counts as recorded when every tracking number it carries is on one of the order's deliveries
(untracked: when the order has delivered at least its units), so a shop that also holds older deliveries
is never called short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from pydantic import Field

from shared.models import WarehouseStatus
from shared.models.base import Model


class GapKind(StrEnum):
    DESPATCH_NOT_AT_SHOP = "despatch_not_at_shop"  # tracking never reached the order: no confirmation sent
    SHIPPED_AT_SHOP_NOT_DESPATCHED = "shipped_at_shop_not_despatched"
    CANCELLED_AT_WAREHOUSE_ONLY = "cancelled_at_warehouse_only"
    CANCELLED_AT_SHOP_ONLY = "cancelled_at_shop_only"  # the warehouse may still ship it
    MISSING_AT_WAREHOUSE = "missing_at_warehouse"


class Despatch(Model):
    """One despatch as the warehouse reports it."""

    despatch_id: str
    units: dict[str, int]
    tracking: frozenset[str] = frozenset()


class WarehouseSide(Model):
    status: str = Field(description="the neutral WarehouseStatus value, '' when unknown")
    despatches: tuple[Despatch, ...] = ()


class ShopSide(Model):
    """What the storefront's order holds: its states, the units in its deliveries and their tracking."""

    order_state: str
    shipment_state: str = ""
    delivered: dict[str, int] = {}
    tracking: frozenset[str] = frozenset()
    cancelled: bool = False
    shipped_states: frozenset[str] = frozenset({"Shipped", "Partial", "Delivered"})


class Gap(Model):
    reference: str
    kind: GapKind
    detail: str


class ReconciliationReport(Model):
    day: date
    orders_compared: int
    gaps: tuple[Gap, ...]
    by_kind: dict[str, int]


def compare(reference: str, warehouse: WarehouseSide | None, shop: ShopSide) -> list[Gap]:
    """The gaps between one order's two sides; [] when they agree."""
    if warehouse is None:
        if shop.cancelled:
            return []
        return [Gap(reference=reference, kind=GapKind.MISSING_AT_WAREHOUSE, detail="not found at the warehouse")]
    gaps: list[Gap] = []
    for despatch in warehouse.despatches:
        missing = sorted(despatch.tracking - shop.tracking)
        short = {sku: units for sku, units in despatch.units.items() if shop.delivered.get(sku, 0) < units}
        if missing or (not despatch.tracking and short):
            what = f"tracking {', '.join(missing)}" if missing else f"units {short}"
            gaps.append(
                Gap(
                    reference=reference,
                    kind=GapKind.DESPATCH_NOT_AT_SHOP,
                    detail=f"despatch {despatch.despatch_id} left the warehouse; the order lacks its {what}",
                )
            )
    status = warehouse.status
    if status == WarehouseStatus.CANCELLED and not shop.cancelled:
        gaps.append(
            Gap(
                reference=reference,
                kind=GapKind.CANCELLED_AT_WAREHOUSE_ONLY,
                detail=f"cancelled at the warehouse, {shop.order_state} at the shop",
            )
        )
    if shop.cancelled and status not in (WarehouseStatus.CANCELLED, WarehouseStatus.DESPATCHED, ""):
        gaps.append(
            Gap(
                reference=reference,
                kind=GapKind.CANCELLED_AT_SHOP_ONLY,
                detail=f"cancelled at the shop, {status} at the warehouse",
            )
        )
    shipped_at_shop = shop.shipment_state in shop.shipped_states
    if shipped_at_shop and status not in (WarehouseStatus.DESPATCHED, "") and not warehouse.despatches:
        gaps.append(
            Gap(
                reference=reference,
                kind=GapKind.SHIPPED_AT_SHOP_NOT_DESPATCHED,
                detail=f"{shop.shipment_state} at the shop, {status} at the warehouse",
            )
        )
    return gaps


def report(day: date, compared: int, gaps: Iterable[Gap]) -> ReconciliationReport:
    found = tuple(gaps)
    return ReconciliationReport(
        day=day, orders_compared=compared, gaps=found, by_kind=dict(Counter(gap.kind.value for gap in found))
    )
