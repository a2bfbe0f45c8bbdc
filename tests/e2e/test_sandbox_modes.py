"""Sandbox days in their other modes: stock incidents, a warehouse refusing repeated references, the CLI."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from sandbox.scenario import Options, run_day
from tests.e2e.checks import assert_healthy

pytestmark = pytest.mark.e2e


def test_stock_day_never_pushes_more_than_available_nor_a_spike_and_finds_warehouse_damage() -> None:
    # Given a day with frequent stock incidents (receipts, reversed spikes, damage, shop sales) and faults
    result = run_day(
        Options(
            orders=40,
            fault_rate=0.15,
            duplicate_rate=0.05,
            seed=21,
            stock_incident_every=4,
            day_hours=4,
            late_parcel_hours=1,
            follow_up_hours=2,
        )
    )
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
    result = run_day(
        Options(
            orders=40,
            fault_rate=0.25,
            duplicate_rate=0.2,
            seed=5,
            warehouse_rejects_duplicates=True,
            late_parcel_hours=2,
            follow_up_hours=3,
            day_hours=2,
        )
    )
    # Then the day is as healthy, and any repeat that reached the warehouse was refused there
    assert result.summary["warehouse_rejects_duplicates"] is True
    assert_healthy(result.summary)


def test_cli_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["sandbox", "run", "--orders", "20", "--seed", "2", "--day-hours", "1", "--follow-up-hours", "1", "--json"]
    )
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert code == 0
    for key in (
        "orders_sent",
        "unique_valid_orders",
        "warehouse_orders",
        "duplicate_warehouse_orders",
        "quarantined",
        "in_dlq",
        "lost",
        "skus_read",
        "deltas_pushed",
        "pushes_skipped_unchanged",
        "throttled_responses",
        "drift_skus",
        "verdicts",
        "wrong_at_warehouse",
        "despatches_not_written_back",
        "stock_figures_received",
    ):
        assert key in summary
    assert summary["orders_sent"] == 20 and summary["verdicts"] == {"as_expected": 20}


def test_cli_rejects_bad_arguments_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "run", "--fault-rate", "1.5"])
    assert exit_info.value.code == 2
    assert "--fault-rate: expected a share between 0 and 1 (e.g. 0.05), got '1.5'" in capsys.readouterr().err
