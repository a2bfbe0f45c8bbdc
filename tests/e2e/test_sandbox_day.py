"""The sandbox day, end to end: faults and duplicates, and still nothing lost and nothing twice."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from sandbox.scenario import KINDS, Options, failures, run_day

pytestmark = pytest.mark.e2e


def assert_healthy(summary: dict) -> None:
    # Judged from the platforms: every sale where it should be, as the source has it
    assert failures(summary) == [], summary["unexpected"]
    assert summary["lost"] == 0 and summary["in_dlq"] == 0, summary["unexpected"]
    assert summary["duplicate_warehouse_orders"] == 0
    assert summary["wrong_outcome"] == 0 and summary["wrong_at_warehouse"] == 0, summary["unexpected"]
    assert summary["bad_orders_reached_warehouse"] == 0
    assert summary["as_expected"] == summary["orders_sent"]
    # Despatch: every despatch's tracking numbers on the Cin7 sale (a voided sale's refusal parked for
    # operations), none twice
    assert summary["duplicate_shipments_applied"] == 0
    assert summary["despatches_not_written_back"] == 0, summary["despatches_missing"]
    assert (summary["despatches_written_back"] + summary["despatches_refused_after_void"]
            == summary["shipments_seen"])
    assert summary["orders_closed"] == summary["orders_shipped_in_full"]


def test_faulty_day_with_duplicates_loses_nothing_and_duplicates_nothing() -> None:
    # Given a day where a fifth of platform calls meet a fault and a tenth of webhooks arrive twice, at a
    # warehouse that accepts a repeated reference (the card does not say it refuses one)
    result = run_day(Options(orders=120, fault_rate=0.2, duplicate_rate=0.1, seed=11, split_rate=0.3,
                             multi_tracking_rate=0.3, late_parcel_hours=3, follow_up_hours=4, day_hours=5))
    summary = result.summary
    # Then nothing is lost, nothing is at the warehouse twice, and every bad order has its reason
    assert summary["warehouse_rejects_duplicates"] is False and summary["warehouse_duplicate_rejections"] == 0
    assert_healthy(summary)
    # (the warehouse was asked to cancel only where its table allows, so it refused none)
    assert summary["cancel_calls_refused_by_the_warehouse"] == 0
    # (a valid sale voided before it was submitted is, rightly, not at the warehouse)
    assert (summary["warehouse_orders"] + summary["in_dlq"] + summary["cancelled_before_submit"]
            >= summary["unique_valid_orders"])
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
    assert set(summary["quarantined"]) <= expected_reasons | {"payload_invalid", "sku_pending", "product_invalid",
                                                              "cancel_too_late", "writeback_rejected"}
    # SKU fan-out: every order for a product created moments before it was held, then released by itself
    new_product_orders = summary["sales_by_kind"].get("new_product", 0)
    assert summary["orders_released_after_sku"] == new_product_orders
    assert summary["skus_synced"] >= new_product_orders


def test_stock_day_never_pushes_more_than_available_nor_a_spike_and_finds_warehouse_damage() -> None:
    # Given a day with frequent stock incidents (receipts, reversed spikes, damage, shop sales) and faults
    result = run_day(Options(orders=40, fault_rate=0.15, duplicate_rate=0.05, seed=21, stock_incident_every=4,
                             day_hours=4, late_parcel_hours=1, follow_up_hours=2))
    summary = result.summary
    assert_healthy(summary)
    incidents = summary["stock_incidents"]
    assert incidents.get("spike", 0) > 0 and incidents.get("damage", 0) > 0 and incidents.get("receipt", 0) > 0
    # Then no SKU is offered above what Cin7 Core has available, and no reversed spike was ever pushed
    assert summary["skus_pushed_above_master_available"] == 0
    assert summary["spikes"] > 0 and summary["spikes_pushed"] == 0
    # Only changes were pushed, in batches where the trigger allowed it, and Scend received them
    assert summary["deltas_pushed"] > 0
    assert summary["stock_figures_received"] >= summary["deltas_pushed"]  # a re-sent batch applies again
    assert summary["pushes_skipped_unchanged"] > summary["deltas_pushed"]
    assert summary["stock_target_calls"] <= summary["deltas_pushed"]
    # And every SKU damaged at the warehouse behind Cin7's back is in the drift report and the inbox
    assert summary["drift_damaged_skus"] > 0
    assert summary["drift_damaged_skus_found"] == summary["drift_damaged_skus"]
    assert summary["drift_skus"] >= summary["drift_flagged"] >= summary["drift_damaged_skus"]


def test_a_warehouse_that_refuses_repeated_references_still_sees_each_order_once() -> None:
    # Given the other duplicate mode: a warehouse that refuses a repeated reference, with lost responses
    result = run_day(Options(orders=40, fault_rate=0.25, duplicate_rate=0.2, seed=5,
                             warehouse_rejects_duplicates=True, late_parcel_hours=2, follow_up_hours=3,
                             day_hours=2))
    # Then the day is as healthy, and any repeat that reached the warehouse was refused there
    assert result.summary["warehouse_rejects_duplicates"] is True
    assert_healthy(result.summary)


def test_cli_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sandbox", "run", "--orders", "30", "--seed", "2", "--day-hours", "2", "--follow-up-hours", "1",
                 "--json"])
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert code == 0
    for key in ("orders_sent", "unique_valid_orders", "warehouse_orders", "duplicate_warehouse_orders",
                "quarantined", "in_dlq", "lost", "skus_read", "deltas_pushed", "pushes_skipped_unchanged",
                "throttled_responses", "drift_skus"):
        assert key in summary
    assert summary["orders_sent"] == 30


def test_cli_rejects_bad_arguments_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "run", "--fault-rate", "1.5"])
    assert exit_info.value.code == 2
    assert "1.5 is not between 0 and 1" in capsys.readouterr().err
