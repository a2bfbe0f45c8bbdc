"""Cin7 Core's call budget per flow: calls per released order, the least the card allows, and orders an hour.

Cin7 allows 60 calls a minute per application key, shared by every flow, so a day's all-in calls per released
order set how many orders an hour one key carries with every flow on: 3,600 / calls per order. The calls come
from the simulator's own count (sandbox.budget), per hop and per reason; the minimum from the day's own figures
(orders, parcels, schedule runs, listed rows) and the card's endpoints:

| flow                  | least calls                            | why, on the card's endpoints                  |
|-----------------------|----------------------------------------|-----------------------------------------------|
| order_intake (source) | 1 per sale taken in                    | the webhook is thin: GET sale [V]             |
| order_intake (target) | 0                                      | SKUs the map knows need no GET product?Sku=   |
| order_submit          | 3 per sale posted                      | no idempotency key: saleList?ExternalID, then |
|                       |                                        | POST sale + POST sale/order (two-call create) |
| apply_shipment        | 3 per parcel, +1 per parcel after an   | pick, pack, ship: no combined call [V]; a     |
|                       | order's first                          | later parcel needs POST sale/fulfilment       |
| notify_cancellation   | 2 per note                             | PUT sale needs the header: GET sale first     |
| read_warehouse_status | 1 per run                              | GET sale: the live stage, before a void       |
| cancel_at_warehouse   | 1 per void                             | DELETE sale?Void=true (the stage just read)   |
| poll_sales            | ceil(rows / 1,000) per run             | one unfiltered saleList?UpdatedSince          |
| poll_despatches       | ceil(rows / 1,000) per run             | saleList?UpdatedSince (its shipping status);  |
|                       |                                        | a shipped sale's GET sale is not counted      |
| poll_products         | ceil(rows / 1,000) per run             | product?ModifiedSince                         |
| read_stock            | ceil(rows / 1,000) per run             | ref/productavailability, 1,000 rows a page    |
| push_stock            | ceil(rows at the location / 1,000) per | a batch of stock events needs a listing made  |
|                       | listing made                           | after them; one made since answers it free    |
| reconcile_stock       | ceil(rows at the location / 1,000) per | one listing an hour                           |
|                       | run                                    |                                               |
| monitor_orders        | 0 per order                            | one saleList page a 15-minute run answers     |
|                       |                                        | every due order: its calls follow the runs    |

A changed-since poll's rows per run are the changes of its window, far below 1,000 here: one page per run. The
stock reads' rows are the availability Total the connector last listed. Each flow reports its calls, calls per
released order, the minimum, the calls over it and the ratio; a flow with no rule here reports no minimum.
The two example days (60 orders, seed 7, the CLI's 8-hour day) take about a minute each:

    python -m benchmarks.run --only cin7-budget                          # both pairings
    python -m benchmarks.run --only cin7-budget --budget-days sfcc-cin7  # one of them
    python -m benchmarks.run --only cin7-budget --budget-days cin7-scend-faulty --out cin7-budget-faulty
    python -m benchmarks.run --only cin7-budget --budget-days cin7-scend-peak --out cin7-budget-peak
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.budget import CALLS_PER_HOUR

PAGE_ROWS = 1000  # Cin7's largest `limit` (card "Pagination" [V])


@dataclass(frozen=True)
class DayFigures:
    """What a day's minimum is counted from: its summary, each hop's runs and the rows its stock reads listed."""

    summary: dict[str, Any]
    runs: dict[str, int]
    listed_rows: dict[str, int]
    page_limits: dict[str, int]  # the availability page size each stock hop's client was configured with

    def pages(self, hop: str, limit: int = PAGE_ROWS) -> int:
        """Pages a listing of the hop's rows takes at `limit` rows a page: at least one (an empty one is a call)."""
        return max(1, math.ceil(self.listed_rows.get(hop, 0) / limit))

    def calls(self, hop: str) -> int:
        return int(self.summary["cin7_budget"]["flows"].get(hop, {}).get("calls", 0))


@dataclass(frozen=True)
class Floor:
    rule: str
    calls: Callable[[DayFigures], int]


def _parcels(day: DayFigures) -> int:
    parcels = int(day.summary.get("shipments_applied", 0))
    shipped = int(day.summary.get("orders_shipped_in_full", 0)) + int(day.summary.get("orders_shipped_in_part", 0))
    return 3 * parcels + max(0, parcels - shipped)


def _listings(day: DayFigures) -> int:
    """push_stock: the listings it made (a run answered by a listing made after its events makes none), each at
    1,000 rows a page."""
    hop = "push_stock"
    listings = math.ceil(day.calls(hop) / day.pages(hop, day.page_limits.get(hop, PAGE_ROWS)))
    return listings * day.pages(hop)


def _per_run(hop: str) -> Floor:
    return Floor("ceil(rows / 1000) pages per run", lambda day: day.runs.get(hop, 0) * day.pages(hop))


# Flows whose floor depends on the side Cin7 plays (source of orders, or their target).
SOURCE_FLOORS: dict[str, Floor] = {
    "order_intake": Floor("1 GET sale per sale taken in", lambda day: int(day.summary.get("orders_received", 0))),
}
TARGET_FLOORS: dict[str, Floor] = {
    "order_intake": Floor("0: SKUs the map knows need no GET product", lambda day: 0),
}
FLOORS: dict[str, Floor] = {
    "order_submit": Floor(
        "3 per sale posted (saleList?ExternalID, POST sale, POST sale/order)",
        lambda day: 3 * int(day.summary.get("cin7_budget", {}).get("released_orders", 0)),
    ),
    "apply_shipment": Floor("3 per parcel (pick, pack, ship) + 1 POST sale/fulfilment per later parcel", _parcels),
    "notify_cancellation": Floor(
        "2 per note (GET sale, PUT sale)", lambda day: 2 * int(day.summary.get("cancel_notes_written", 0))
    ),
    "read_warehouse_status": Floor("1 GET sale per status read", lambda day: day.runs.get("read_warehouse_status", 0)),
    "cancel_at_warehouse": Floor(
        "1 DELETE sale per void",
        lambda day: int(day.summary.get("cancel_outcomes", {}).get("cancelled_at_warehouse", 0)),
    ),
    "poll_sales": _per_run("poll_sales"),
    "poll_despatches": _per_run("poll_despatches"),
    "poll_products": _per_run("poll_products"),
    "read_stock": _per_run("read_stock"),
    "push_stock": Floor("ceil(rows at the location / 1000) pages per listing made", _listings),
    "reconcile_stock": _per_run("reconcile_stock"),
    "monitor_orders": Floor("0 per order (one saleList page per 15-minute run)", lambda day: 0),
}


def floor_for(flow: str, *, cin7_is_source: bool) -> Floor | None:
    side = SOURCE_FLOORS if cin7_is_source else TARGET_FLOORS
    return side.get(flow) or FLOORS.get(flow)


PAIRINGS: dict[str, dict[str, Any]] = {
    "cin7-scend": {"client": "example-cin7-scend", "orders": 60, "seed": 7, "cin7_is_source": True},
    "sfcc-cin7": {"client": "example-sfcc-cin7", "orders": 60, "seed": 7, "cin7_is_source": False},
}
# Longer days, run by name only: the 300-order day at fault rate 0.2, and the peak day (2,000 orders over 8
# trading hours, fault rate 0.1), whose wall time is also the sandbox's speed figure for a large day.
DAYS: dict[str, dict[str, Any]] = {
    **PAIRINGS,
    "cin7-scend-faulty": {**PAIRINGS["cin7-scend"], "orders": 300, "fault_rate": 0.2, "duplicate_rate": 0.05},
    "cin7-scend-peak": {
        **PAIRINGS["cin7-scend"],
        "orders": 2000,
        "fault_rate": 0.1,
        "duplicate_rate": 0.05,
        "day_hours": 8.0,
    },
}


def budget_report(day: DayFigures, command: str, wall_seconds: float, *, cin7_is_source: bool) -> dict[str, Any]:
    """One day's budget: per flow calls, per released order, the minimum and how far from it the flow is."""
    budget = day.summary["cin7_budget"]
    released = budget["released_orders"]

    def per_order(calls: int) -> float | None:
        return round(calls / released, 3) if released else None

    flows: dict[str, Any] = {}
    least_total = 0
    for flow, row in budget["flows"].items():
        entry: dict[str, Any] = {
            "calls": row["calls"],
            "per_released_order": row["per_released_order"],
            "throttled": row["throttled"],
            "reasons": row["reasons"],
        }
        floor = floor_for(flow, cin7_is_source=cin7_is_source)
        if floor is not None:
            least = floor.calls(day)
            least_total += least
            entry.update(
                {
                    "minimum": floor.rule,
                    "minimum_calls": least,
                    "minimum_per_released_order": per_order(least),
                    "calls_over_minimum": row["calls"] - least,
                    "times_the_minimum": round(row["calls"] / least, 2) if least else None,
                }
            )
        flows[flow] = entry
    least_per_order = least_total / released if released else None
    return {
        "command": command,
        "wall_seconds": round(wall_seconds, 1),
        "released_orders": released,
        "cin7_calls": budget["calls"],
        "cin7_calls_per_released_order": budget["per_released_order"],
        "orders_per_hour_one_key": budget["orders_per_hour_one_key"],
        "minimum_calls": least_total,
        "minimum_calls_per_released_order": round(least_per_order, 3) if least_per_order else None,
        "orders_per_hour_one_key_at_the_minimum": round(CALLS_PER_HOUR / least_per_order, 1)
        if least_per_order
        else None,
        "throttled": budget["throttled"],
        "runs": day.runs,
        "listed_rows": day.listed_rows,
        "availability_page_limits": day.page_limits,
        "flows": flows,
    }


def _figures(local: Any, summary_box: dict[str, Any]) -> None:
    """After the day (the simulators still up): each hop's runs and the rows each stock hop's last listing held."""
    summary_box["runs"] = dict(local.invocations)
    rows: dict[str, int] = {}
    limits: dict[str, int] = {}
    for hop in ("read_stock", "push_stock", "reconcile_stock"):
        runtime = local._hop_runtimes.get(hop)  # the hop's own runtime, with the clients it built
        for platform in () if runtime is None else local.config.platforms:
            client = runtime.built(platform)
            listed = getattr(client, "_listed_rows", None)  # the availability Total per Location the client read
            if listed:
                rows[hop] = max(rows.get(hop, 0), *listed.values())
                limits[hop] = client.availability_page_limit
    summary_box["listed_rows"] = rows
    summary_box["page_limits"] = limits


def bench_cin7_budget(pairings: tuple[str, ...] = tuple(PAIRINGS)) -> dict[str, Any]:
    """Run each pairing's day and report its Cin7 budget per flow against the minimum."""
    from sandbox.scenario import Options, day_shape, run_day

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    report: dict[str, Any] = {
        "minimum_per_flow": {flow: floor.rule for flow, floor in {**FLOORS, **SOURCE_FLOORS}.items()},
        "minimum_per_flow_cin7_as_target": {flow: floor.rule for flow, floor in TARGET_FLOORS.items()},
    }
    for name in pairings:
        day = DAYS[name]
        shape = day_shape(8.0, day.get("day_hours"), None)  # the CLI's default day, or its --day-hours
        box: dict[str, Any] = {}
        options = Options(
            client=day["client"],
            orders=day["orders"],
            seed=day["seed"],
            fault_rate=day.get("fault_rate", Options.fault_rate),
            duplicate_rate=day.get("duplicate_rate", Options.duplicate_rate),
            follow_up_hours=shape["follow_up_hours"],
            day_hours=shape["day_hours"],
            late_parcel_hours=shape["late_parcel_hours"],
        )
        result = run_day(options, after=lambda local, box=box: _figures(local, box))
        command = (
            f"hopline sandbox run --client {day['client']} --orders {day['orders']} --seed {day['seed']}"
            f" --fault-rate {options.fault_rate} --duplicate-rate {options.duplicate_rate}"
            + (f" --day-hours {day['day_hours']:g}" if "day_hours" in day else "")
        )
        figures = DayFigures(
            result.summary, box.get("runs", {}), box.get("listed_rows", {}), box.get("page_limits", {})
        )
        report[name] = budget_report(figures, command, result.wall_seconds, cin7_is_source=day["cin7_is_source"])
    return report
