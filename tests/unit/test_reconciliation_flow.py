"""Order reconciliation decisions: a despatch whose tracking never reached the order, states that
disagree, and orders that agree although the shop holds more deliveries than the window shows."""

from __future__ import annotations

from datetime import date

from shared.flows.reconciliation import Despatch, GapKind, ShopSide, WarehouseSide, compare, report

PARCEL = Despatch(despatch_id="50001", units={"TEE": 2}, tracking=frozenset({"JB1"}))


def test_orders_that_agree_have_no_gaps_even_with_earlier_deliveries_at_the_shop() -> None:
    shop = ShopSide(
        order_state="Open", shipment_state="Shipped", delivered={"TEE": 3}, tracking=frozenset({"JB0", "JB1"})
    )
    assert compare("R-1", WarehouseSide(status="despatched", despatches=(PARCEL,)), shop) == []


def test_a_despatch_whose_tracking_is_not_on_the_order_is_a_gap() -> None:
    shop = ShopSide(order_state="Open", shipment_state="", delivered={}, tracking=frozenset())
    [gap] = compare("R-2", WarehouseSide(status="despatched", despatches=(PARCEL,)), shop)
    assert gap.kind is GapKind.DESPATCH_NOT_AT_SHOP and "JB1" in gap.detail
    untracked = Despatch(despatch_id="50002", units={"TEE": 2})
    [short] = compare("R-2", WarehouseSide(status="despatched", despatches=(untracked,)), shop)
    assert short.kind is GapKind.DESPATCH_NOT_AT_SHOP and "units" in short.detail


def test_states_that_disagree_are_gaps_each_way() -> None:
    open_order = ShopSide(order_state="Open")
    cancelled = ShopSide(order_state="Cancelled", cancelled=True)
    assert [g.kind for g in compare("R-3", WarehouseSide(status="cancelled"), open_order)] == [
        GapKind.CANCELLED_AT_WAREHOUSE_ONLY
    ]
    assert [g.kind for g in compare("R-4", WarehouseSide(status="picked"), cancelled)] == [
        GapKind.CANCELLED_AT_SHOP_ONLY
    ]
    assert compare("R-5", WarehouseSide(status="cancelled"), cancelled) == []
    shipped = ShopSide(order_state="Open", shipment_state="Shipped")
    assert [g.kind for g in compare("R-6", WarehouseSide(status="packed"), shipped)] == [
        GapKind.SHIPPED_AT_SHOP_NOT_DESPATCHED
    ]
    assert [g.kind for g in compare("R-7", None, open_order)] == [GapKind.MISSING_AT_WAREHOUSE]
    assert compare("R-8", None, cancelled) == []


def test_the_report_counts_gaps_by_kind() -> None:
    gaps = compare("R-3", WarehouseSide(status="cancelled"), ShopSide(order_state="Open"))
    made = report(date(2026, 12, 2), 4, gaps)
    assert made.orders_compared == 4 and made.by_kind == {"cancelled_at_warehouse_only": 1}
