"""The sandbox day, end to end: faults and duplicates, and still nothing lost and nothing twice."""

from __future__ import annotations

import pytest

from sandbox.scenario import KINDS, Options, run_day
from tests.e2e.checks import assert_healthy

pytestmark = pytest.mark.e2e


def test_faulty_day_with_duplicates_loses_nothing_and_duplicates_nothing() -> None:
    # Given a day where a fifth of platform calls meet a fault and a tenth of webhooks arrive twice, at a
    # warehouse that accepts a repeated reference (the card does not say it refuses one)
    result = run_day(
        Options(
            orders=70,
            fault_rate=0.2,
            duplicate_rate=0.1,
            seed=11,
            split_rate=0.3,
            multi_tracking_rate=0.3,
            late_parcel_hours=2,
            follow_up_hours=3,
            day_hours=3,
        )
    )
    summary = result.summary
    # Then nothing is lost, nothing is at the warehouse twice, and every bad order has its reason
    assert summary["warehouse_rejects_duplicates"] is False and summary["warehouse_duplicate_rejections"] == 0
    assert_healthy(summary)
    # (the warehouse was asked to cancel only where its table allows, so it refused none)
    assert summary["cancel_calls_refused_by_the_warehouse"] == 0
    # (a valid sale voided before it was submitted is, rightly, not at the warehouse)
    assert (
        summary["warehouse_orders"] + summary["in_dlq"] + summary["cancelled_before_submit"]
        >= summary["unique_valid_orders"]
    )
    # Cancellations: every request decided, none accepted and then shipped or left live
    assert summary["cancels_requested"] > 0 and summary["cancel_executions_failed"] == 0
    assert summary["shipped_after_cancel"] == 0 and summary["live_at_warehouse_after_cancel"] == 0
    # And the faults really happened and were retried
    assert sum(summary["faults_injected"]["cin7_core"].values()) > 0
    assert sum(summary["faults_injected"]["scend"].values()) > 0
    assert summary["retries"]["http"] > 0
    assert summary["webhooks_duplicated"] > 0
    assert summary["webhooks_rejected_unauthorised"] == 1
    # And despatches came back, split orders' second parts included, and closed orders
    assert summary["shipments_seen"] > summary["orders_closed"] > 0
    assert summary["parcels_seen"] > summary["shipments_seen"]
    assert summary["shipments_applied"] > 0
    expected_reasons = {reason for _, reason in KINDS.values()} - {"warehouse", "held", "skipped"}
    # (sku_pending: orders flagged after waiting too long for a SKU; product_invalid: rejected products;
    # cancel_too_late: voided after pick, so it ships, and Cin7 may then refuse the write-back to the
    # voided sale: writeback_rejected, also for operations)
    assert set(summary["quarantined"]) <= expected_reasons | {
        "payload_invalid",
        "sku_pending",
        "product_invalid",
        "cancel_too_late",
        "writeback_rejected",
    }
    # SKU fan-out: every order for a product created moments before it was held, then released by itself
    new_product_orders = summary["sales_by_kind"].get("new_product", 0)
    assert summary["orders_released_after_sku"] == new_product_orders
    assert summary["skus_synced"] >= new_product_orders
