"""Figures on the platforms' own terms: the endpoint tables per connector, and a day judged by the platforms.

python -m benchmarks.run --only endpoints
python -m benchmarks.run --only card-day        # hopline sandbox run --orders 300 --fault-rate 0.2 ...
"""

from __future__ import annotations

import os
from typing import Any


def bench_endpoints() -> dict[str, Any]:
    """Per connector: the endpoints it calls by mark, and the inferred ones with the config field naming them."""
    from sandbox.platform_docs import MARKS, PAGES, endpoints

    report: dict[str, Any] = {}
    for platform, page in PAGES.items():
        called = [row for row in endpoints(platform) if row.called]
        report[platform] = {
            "page": f"docs/platforms/{page}",
            "called": len(called),
            **{mark.strip("[]"): sum(row.mark == mark for row in called) for mark in MARKS},
            "inferred": [f"{row.method} {row.path} ({row.config})" for row in called if row.mark == "[I]"],
            "served_not_called": [
                f"{row.method} {row.path} {row.mark}" for row in endpoints(platform) if not row.called
            ],
        }
    return report


def bench_card_day(
    orders: int = 300, fault_rate: float = 0.2, duplicate_rate: float = 0.05, seed: int = 7
) -> dict[str, Any]:
    """A day against the card-faithful simulators, judged from what the platforms hold, with the despatch
    figures of the card's poll (Cin7 calls per despatch written back, despatch-to-write-back latency)."""
    from sandbox.scenario import Options, failures, run_day

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    result = run_day(Options(orders=orders, fault_rate=fault_rate, duplicate_rate=duplicate_rate, seed=seed))
    summary = result.summary
    keep = (
        "orders_sent",
        "unique_valid_orders",
        "verdicts",
        "as_expected",
        "lost",
        "wrong_outcome",
        "wrong_at_warehouse",
        "bad_orders_reached_warehouse",
        "duplicate_warehouse_orders",
        "warehouse_rejects_duplicates",
        "warehouse_duplicate_rejections",
        "duplicates_suppressed",
        "in_dlq",
        "warehouse_orders",
        "quarantined",
        "retries",
        "throttled_responses",
        "faults_injected",
        "api_calls",
        "shipments_seen",
        "parcels_seen",
        "shipments_applied",
        "despatches_written_back",
        "despatches_not_written_back",
        "despatches_refused_after_void",
        "duplicate_shipments_applied",
        "orders_closed",
        "orders_shipped_in_full",
        "orders_shipped_in_part",
        "writeback_exceptions",
        "writeback_latency_seconds",
        "cin7_calls_per_shipment_applied",
        "cancels_requested",
        "cancel_outcomes_by_moment",
        "cancels_wrong",
        "cancel_calls_to_the_warehouse",
        "cancel_calls_refused_by_the_warehouse",
        "cancel_executions_failed",
        "shipped_after_cancel",
        "live_at_warehouse_after_cancel",
        "stock_writes",
        "stock_figures_received",
        "deltas_pushed",
        "skus_pushed_above_master_available",
        "spikes",
        "spikes_pushed",
        "drift_damaged_skus",
        "drift_damaged_skus_found",
        "unexpected",
    )
    return {
        "command": f".venv/bin/hopline sandbox run --orders {orders} --fault-rate {fault_rate} "
        f"--duplicate-rate {duplicate_rate} --seed {seed} --json",
        "wall_seconds": round(result.wall_seconds, 1),
        "failures": failures(summary),
        "scend_despatch_poll_calls": summary["scend_despatch_poll_calls"],
        **{key: summary[key] for key in keep},
    }
