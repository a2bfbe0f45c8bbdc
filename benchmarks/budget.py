"""Cin7 Core's call budget per flow: calls per released order, and orders per hour one key sustains.

Cin7 allows 60 calls a minute per application key, shared by every flow, so a day's all-in calls per released
order set how many orders an hour one key carries with every flow on: 3,600 / calls per order. The figures
come from the simulator's own count (sandbox.budget), per hop and per reason.

    python -m benchmarks.run --only cin7-budget                      # the 300-order day and the peak day
    python -m benchmarks.run --only cin7-budget --budget-days 300    # one of them
"""

from __future__ import annotations

import os
from typing import Any

# The least each flow can spend on the card's endpoints, as calls (per what they are counted by).
MINIMUM = {
    "order_intake": "1 read (GET sale) per sale taken in, 0 writes",
    "apply_shipment": "0 reads; 3 writes per parcel (pick, pack, ship), +1 (POST sale/fulfilment) per later parcel",
    "poll_sales": "1 saleList page per status per tick (authorised, voided): 2 per 10-minute tick",
    "poll_products": "1 product page per tick (15 minutes)",
    "read_stock": "ceil(rows / 1000) availability pages per tick (15 minutes)",
    "reconcile_stock": "ceil(rows at the location / 1000) pages per tick (1 hour)",
    "push_stock": "1 availability listing per batch of stock events that arrived before it",
    "notify_cancellation": "2 per cancel (GET sale for the note and the header, PUT sale)",
}

DAYS: dict[str, dict[str, Any]] = {
    "300": {"orders": 300, "fault_rate": 0.2, "duplicate_rate": 0.05, "seed": 7},
    # 2,000 orders over 8 trading hours (4 a minute), followed as long as the late parcels take.
    "peak": {"orders": 2000, "fault_rate": 0.1, "duplicate_rate": 0.05, "seed": 7, "day_hours": 8.0},
}


def floors(summary: dict[str, Any]) -> dict[str, int]:
    """The day's own minimum for the flows whose calls follow orders: intake reads, write-back writes."""
    parcels = int(summary.get("shipments_applied", 0))
    orders_with_parcels = int(summary.get("orders_shipped_in_full", 0)) + int(summary.get("orders_shipped_in_part", 0))
    return {
        "order_intake": int(summary.get("orders_received", 0)),
        "apply_shipment": 3 * parcels + max(0, parcels - orders_with_parcels),
    }


def budget_report(summary: dict[str, Any], command: str, wall_seconds: float) -> dict[str, Any]:
    """One day's budget: per flow calls, per released order, the minimum and how far from it we are."""
    budget = summary["cin7_budget"]
    released = budget["released_orders"]
    least = floors(summary)
    flows: dict[str, Any] = {}
    for flow, row in budget["flows"].items():
        entry = {
            "calls": row["calls"],
            "per_released_order": row["per_released_order"],
            "throttled": row["throttled"],
            "minimum": MINIMUM.get(flow, ""),
            "reasons": row["reasons"],
        }
        if least.get(flow):
            entry["minimum_calls"] = least[flow]
            entry["minimum_per_released_order"] = round(least[flow] / released, 3) if released else None
            entry["times_the_minimum"] = round(row["calls"] / least[flow], 2)
        flows[flow] = entry
    return {
        "command": command,
        "wall_seconds": round(wall_seconds, 1),
        "released_orders": released,
        "cin7_calls": budget["calls"],
        "cin7_calls_per_released_order": budget["per_released_order"],
        "orders_per_hour_one_key": budget["orders_per_hour_one_key"],
        "throttled": budget["throttled"],
        "verdicts": {
            key: summary.get(key)
            for key in (
                "lost",
                "duplicate_warehouse_orders",
                "in_dlq",
                "wrong_outcome",
                "despatches_written_back",
                "despatches_not_written_back",
                "despatches_refused_after_void",
                "duplicate_shipments_applied",
                "cancels_requested",
                "cancels_wrong",
                "spikes_pushed",
                "skus_pushed_above_master_available",
            )
        },
        "flows": flows,
    }


def bench_cin7_budget(days: tuple[str, ...] = ("300", "peak")) -> dict[str, Any]:
    """Run each day and report its Cin7 budget per flow."""
    from sandbox.scenario import Options, run_day

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    report: dict[str, Any] = {"minimum_per_flow": MINIMUM}
    for name in days:
        day = DAYS[name]
        result = run_day(Options(**day))
        command = (
            f"hopline sandbox run --client example-cin7-scend --orders {day['orders']} --fault-rate "
            f"{day['fault_rate']} --duplicate-rate {day['duplicate_rate']} --seed {day['seed']}"
            + (f" --day-hours {day['day_hours']}" if "day_hours" in day else "")
        )
        report[f"day_{name}"] = budget_report(result.summary, command, result.wall_seconds)
    return report
