"""Where a day spent Cin7 Core's call budget: flow -> reason -> calls, and calls per released order.

Cin7 allows 60 calls a minute per application key, shared by every flow, so a figure per released order is
what says how many orders an hour one key can carry (3,600 / calls per order at the full rate). The
simulator counts every request it receives (throttled and faulted ones too: each was a call) by the hop
that sent it (the connector's `User-Agent: hopline/<hop>`) and by endpoint and purpose
(`sandbox.simulators.cin7_core.call_reason`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from shared import topology

CALLS_PER_HOUR = 3600  # 60 calls a minute per Cin7 application key


def _pipeline(flow: str) -> str:
    return next((hop.pipeline for hop in topology.HOPS if hop.name == flow), "other")


def cin7_budget(cin7: Any, released: int) -> dict[str, Any]:
    """The day's Cin7 calls by flow (hop) and reason, with calls per released order, from the simulator's count.

    `orders_per_hour_one_key` is how many orders a day like this one lets one key carry, every flow on.
    """
    flows: dict[str, dict[str, int]] = defaultdict(dict)
    for (flow, reason), count in cin7.calls.items():
        flows[flow][reason] = flows[flow].get(reason, 0) + count
    total = sum(sum(reasons.values()) for reasons in flows.values())
    per_order = round(total / released, 3) if released else None
    return {
        "calls": total,
        "released_orders": released,
        "per_released_order": per_order,
        "orders_per_hour_one_key": round(CALLS_PER_HOUR / (total / released), 1) if released and total else None,
        "throttled": sum(cin7.throttled_by_flow.values()),
        "flows": {
            flow: {
                "pipeline": _pipeline(flow),
                "calls": sum(reasons.values()),
                "per_released_order": round(sum(reasons.values()) / released, 3) if released else None,
                "throttled": cin7.throttled_by_flow.get(flow, 0),
                "reasons": dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
            }
            for flow, reasons in sorted(flows.items(), key=lambda item: -sum(item[1].values()))
        },
    }


def format_budget(budget: dict[str, Any]) -> str:
    """The table as text: one line per flow, then its reasons, each with calls and calls per released order."""
    released = budget["released_orders"]

    def per(count: int) -> str:
        return f"{count / released:7.3f}" if released else "      -"

    lines = [
        f"Cin7 Core calls by flow and reason ({budget['calls']} calls, {released} released orders: "
        f"{budget['per_released_order']} per order, {budget['orders_per_hour_one_key']} orders/hour on one key)",
        f"  {'flow / reason':<72} {'calls':>6} {'/order':>7}",
    ]
    for flow, row in budget["flows"].items():
        throttled = f"  ({row['throttled']} throttled)" if row["throttled"] else ""
        lines.append(f"  {flow + ' [' + row['pipeline'] + ']':<72} {row['calls']:>6} {per(row['calls'])}{throttled}")
        for reason, count in row["reasons"].items():
            lines.append(f"    {reason:<70} {count:>6} {per(count)}")
    return "\n".join(lines)
