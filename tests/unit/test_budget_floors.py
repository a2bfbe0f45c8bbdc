"""The Cin7 budget benchmark's minimum per flow, counted from a day's own figures."""

from __future__ import annotations

from typing import Any

from benchmarks.budget import DayFigures, budget_report


def _flow(calls: int) -> dict[str, Any]:
    return {"calls": calls, "per_released_order": calls / 10, "throttled": 0, "reasons": {}}


def day(**flows: int) -> DayFigures:
    summary = {
        "orders_received": 12,
        "shipments_applied": 11,  # 11 parcels over 9 orders: 2 later parcels
        "orders_shipped_in_full": 8,
        "orders_shipped_in_part": 1,
        "cancel_notes_written": 2,
        "cin7_budget": {
            "calls": sum(flows.values()),
            "released_orders": 10,
            "per_released_order": sum(flows.values()) / 10,
            "orders_per_hour_one_key": 3600 / (sum(flows.values()) / 10),
            "throttled": 0,
            "flows": {flow: _flow(calls) for flow, calls in flows.items()},
        },
    }
    return DayFigures(
        summary,
        runs={"poll_sales": 6, "read_stock": 4, "push_stock": 9},
        listed_rows={"read_stock": 2500, "push_stock": 250},
        page_limits={"read_stock": 1000, "push_stock": 100},
    )


def test_each_flow_is_set_against_the_least_the_card_allows() -> None:
    figures = day(order_intake=12, apply_shipment=40, poll_sales=6, read_stock=12, push_stock=15, other=3)
    report = budget_report(figures, "cmd", 1.0, cin7_is_source=True)
    flows = report["flows"]
    assert flows["order_intake"]["minimum_calls"] == 12  # one GET sale per sale taken in
    # 3 writes per parcel and a task added for each later parcel: 3 x 11 + 2
    assert (flows["apply_shipment"]["minimum_calls"], flows["apply_shipment"]["calls_over_minimum"]) == (35, 5)
    assert flows["apply_shipment"]["times_the_minimum"] == 1.14
    assert flows["poll_sales"]["minimum_calls"] == 6  # one page per run
    assert flows["read_stock"]["minimum_calls"] == 12  # 2,500 rows: 3 pages of 1,000 per run, 4 runs
    # 15 calls at 3 pages (of 100) a listing are 5 listings, each one page of 1,000
    assert flows["push_stock"]["minimum_calls"] == 5
    assert "minimum_calls" not in flows["other"]
    assert report["minimum_calls"] == 12 + 35 + 6 + 12 + 5
    assert report["orders_per_hour_one_key_at_the_minimum"] == round(3600 / (70 / 10), 1)


def test_the_sides_cin7_plays_set_the_intake_floor() -> None:
    figures = day(order_intake=4, order_submit=30, monitor_orders=5)
    report = budget_report(figures, "cmd", 1.0, cin7_is_source=False)
    flows = report["flows"]
    # As the order target, intake asks Cin7 only for SKUs the map does not know; submit is 3 calls a sale
    assert (flows["order_intake"]["minimum_calls"], flows["order_intake"]["times_the_minimum"]) == (0, None)
    assert flows["order_submit"]["minimum_calls"] == 30
    assert (flows["monitor_orders"]["minimum_calls"], flows["monitor_orders"]["calls_over_minimum"]) == (0, 5)
